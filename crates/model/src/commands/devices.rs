//! `aegis-model devices`: the devices this build can use.

/// Prints one line per backend (and per wgpu adapter) with whether it can be used here.
pub fn run() {
    println!("flex     pure-Rust CPU (default)");
    println!("ndarray  CPU, deprecated upstream");
    match crate::device::list_wgpu_adapters() {
        Ok(list) if !list.is_empty() => {
            for (i, name) in list.iter().enumerate() {
                println!("wgpu:{i}   {name}");
            }
        }
        Ok(_) => println!("wgpu     no adapter found"),
        Err(e) => println!("wgpu     unavailable: {e}"),
    }
    if cfg!(feature = "cuda") {
        println!("cuda:N   CUDA (built with the cuda feature)");
    } else {
        println!("cuda     not in this build (feature `cuda`)");
    }
}
