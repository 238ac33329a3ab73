//! The review server from code: a model's least confident test rows queued with their
//! explanations, then served to reviewers in the browser. `cargo run --example review_server`
//! builds everything in a temporary folder, checks that the summary page answers, and stops;
//! `cargo run --example review_server -- --serve` keeps serving until Ctrl-C.
//!
//! The same as `aegis-oversight queue --run RUN --coverage 0.8` then
//! `aegis-oversight serve QUEUE --reviewers alice,bob`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use aegis::model::{DataSource, DeviceSpec, LoadedRun, TrainConfig, TrainRequest, train_run};
use aegis::oversight::serve::{ServeConfig, Server};
use aegis::oversight::{QueueConfig, ThresholdSource, build_queue};
use aegis::uncertainty::EstimatorConfig;

fn main() -> anyhow::Result<()> {
    aegis::model::keep_freed_memory();
    let dir = tempfile::tempdir()?;

    // A model to oversee: a one-epoch MLP on the bundled breast-cancer table, on disk.
    let mut request = TrainRequest::new(DataSource::BreastCancer);
    request.train = TrainConfig::new().with_epochs(1).with_seed(1);
    request.out = Some(dir.path().join("run"));
    train_run(&request)?;

    // The queue: the model decides the 80% of rows it is most confident about; the rest go to
    // people, each with its prediction, conformal set and attributions.
    let run = LoadedRun::open(&dir.path().join("run"), DeviceSpec::Flex)?;
    let config = QueueConfig::new(ThresholdSource::Coverage(0.8), EstimatorConfig::new());
    let queue = build_queue(&run, &config, &dir.path().join("queue"), false)?;
    println!("{} items queued for review", queue.items.len());

    // The server: one token per reviewer, loopback only, every answer fsync'd to the log
    // before the browser hears back.
    let server = Server::bind(ServeConfig {
        queue,
        log: dir.path().join("queue/audit.jsonl"),
        bind: "127.0.0.1:0".parse()?,
        reviewers: vec!["alice".into(), "bob".into()],
        reviews_per_item: 1,
        lease: Duration::from_secs(300),
        labels: Ok(run.test.labels.clone()),
        alpha: Some(0.1),
    })?;
    for (name, url) in server.urls() {
        println!("{name}: {url}");
    }
    let (addr, alice) = (server.addr(), server.urls()[0].1.clone());
    let token = alice.split("token=").nth(1).unwrap_or_default().to_string();
    if std::env::args().any(|a| a == "--serve") {
        return Ok(server.run()?);
    }
    std::thread::spawn(move || server.run());

    // What a browser does first: the team summary, with alice's token.
    let mut stream = TcpStream::connect(addr)?;
    write!(
        stream,
        "GET /summary?token={token} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    println!(
        "summary page: {}",
        response.lines().next().unwrap_or("no answer")
    );
    Ok(())
}
