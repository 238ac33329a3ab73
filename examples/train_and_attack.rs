//! Train a model and attack it, from code: an MLP on the bundled MNIST for one epoch, then
//! PGD at ε = 0.1 on 200 test images. `cargo run --example train_and_attack` (a few seconds).
//!
//! The same as `aegis-model train --model mlp --epochs 1` followed by
//! `aegis-adversarial-trainer attack --attack pgd --eps 0.1 --limit 200`, without the files.

use aegis::adversarial::{Attack, Goal, Pgd, PgdConfig};
use aegis::model::burn::tensor::Tensor;
use aegis::model::{
    Architecture, DataSource, TrainConfig, TrainRequest, accuracy, batch_tensor, to_host, train_run,
};

fn main() -> anyhow::Result<()> {
    // Every Aegis binary starts with this: glibc keeps freed tensor memory for reuse.
    aegis::model::keep_freed_memory();

    // Train: the request `aegis-model train` builds from its flags. No `out`: nothing written.
    let mut request = TrainRequest::new(DataSource::Mnist);
    request.architecture = Some(Architecture::Mlp);
    request.train = TrainConfig::new().with_epochs(1).with_seed(1);
    let trained = train_run(&request)?;
    let model = trained.model;

    // The first 200 test images, flat `[N, 784]` pixels in [0, 1].
    let test = trained.config.test_split(None)?;
    let (n, f) = (200, test.features.len() / test.labels.len());
    let x = test.features[..n * f].to_vec();
    let y = test.labels[..n].to_vec();
    let device = request.device.open()?;
    let clean = accuracy(&model, &x, &y, 100, &device);

    // Attack: 20 PGD steps of 0.01 in the L∞ ball of 0.1, clipped to [0, 1].
    let pgd = Pgd::new(PgdConfig::new(0.1).with_steps(20))?;
    let adv: Tensor<2> = pgd.perturb(
        &model,
        batch_tensor(x, n, f, &device),
        &Goal::Untargeted(y.clone()),
    )?;
    let robust = accuracy(&model, &to_host(adv), &y, 100, &device);

    println!("clean accuracy: {clean:.3}");
    println!("PGD-20 accuracy at eps 0.1: {robust:.3}");
    Ok(())
}
