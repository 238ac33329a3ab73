//! Deep ensembles (Lakshminarayanan, Pritzel & Blundell 2017): `M` members trained from
//! different seeds; the predictive distribution is the mean softmax of the members.

use std::path::Path;

use aegis_model::train::resume::has_resume_state;
use aegis_model::{Classifier, DeviceSpec, Model, ModelError, RunDir, TrainRequest, train_run};
use burn::module::Module;
use burn::tensor::Device;

use super::base::{PredictiveSamples, UncertaintyEstimator, batched_logits};
use crate::error::{MAX_MEMBERS, Result, UncertaintyError, check_count};

/// A deep ensemble. `S = M`.
#[derive(Debug, Clone)]
pub struct DeepEnsemble {
    members: Vec<Model>,
    batch_size: usize,
}

impl DeepEnsemble {
    /// An ensemble of inference copies of `members` (at least one; all with the same input
    /// width and classes).
    pub fn new(members: &[Model]) -> Result<Self> {
        let first = members.first().ok_or_else(|| {
            UncertaintyError::invalid("members", "an ensemble needs at least one")
        })?;
        if members
            .iter()
            .any(|m| m.input_dim() != first.input_dim() || m.num_classes() != first.num_classes())
        {
            return Err(UncertaintyError::Shape(
                "ensemble members differ in input width or classes".into(),
            ));
        }
        Ok(Self {
            members: members.iter().map(|m| m.valid()).collect(),
            batch_size: aegis_model::DEFAULT_BATCH_ROWS,
        })
    }

    /// Number of members `M`.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Always false: an ensemble has at least one member.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
}

impl UncertaintyEstimator for DeepEnsemble {
    fn name(&self) -> String {
        "ensemble".into()
    }

    fn predict_samples(&self, x: &[f32], device: &Device) -> Result<PredictiveSamples> {
        let c = self.members[0].num_classes();
        let mut logits = Vec::new();
        for m in &self.members {
            logits.extend(batched_logits(m, x, self.batch_size, device)?);
        }
        let n = logits.len() / (c * self.members.len());
        PredictiveSamples::new(logits, self.members.len(), n, c)
    }
}

/// Trains one member into `run`, continuing a member training that an earlier call left
/// unfinished (killed) from its resume point when its recipe is the same; from scratch
/// otherwise.
fn train_member(mut req: TrainRequest, run: &RunDir) -> Result<Model> {
    req.resume = has_resume_state(run);
    match train_run(&req) {
        Err(
            ModelError::Config { .. } | ModelError::Checkpoint { .. } | ModelError::Format { .. },
        ) if req.resume => {
            req.resume = false;
            Ok(train_run(&req)?.model)
        }
        done => Ok(done?.model),
    }
}

/// Builds an `M`-member ensemble for the run in `run`: member 0 is the run's own model, members
/// `k = 1..M` retrain its recipe ([`TrainRequest::from_run_config`]: same architecture, data,
/// split and hyper-parameters) with training seed `seed + k`.
///
/// Members are written as run directories `cache/member-<k>-seed-<s>/`; a member whose
/// directory already holds a finished run (`metrics.json`) with the same recipe is loaded
/// instead of retrained, so a second call costs nothing; one whose training was killed
/// continues from its last complete epoch.
pub fn train_ensemble(
    run: &RunDir,
    members: usize,
    device_spec: &DeviceSpec,
    cache: &Path,
    progress: bool,
) -> Result<Vec<Model>> {
    check_count("members", members, 1, MAX_MEMBERS)?;
    let device = device_spec.open()?;
    let (base, config) = run.load_model(&device)?;
    let mut out = vec![base];
    for k in 1..members {
        let seed = config.train.seed.wrapping_add(k as u64);
        let dir = cache.join(format!("member-{k}-seed-{seed}"));
        let member_run = RunDir::new(&dir);
        let mut req = TrainRequest::from_run_config(&config, seed, *device_spec);
        if member_run.metrics_path().exists()
            && member_run.load_config().is_ok_and(|c| {
                c.train == req.train
                    && serde_json::to_value(&c.model).ok()
                        == serde_json::to_value(&config.model).ok()
            })
        {
            out.push(member_run.load_model(&device)?.0);
            continue;
        }
        if progress {
            eprintln!("training ensemble member {k}/{} (seed {seed})", members - 1);
        }
        req.out = Some(dir);
        req.progress = progress;
        out.push(train_member(req, &member_run)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aegis_model::{Architecture, ModelConfig};

    #[test]
    fn members_are_the_samples_and_the_mean_is_their_average() {
        let dev = Device::flex();
        let make = |seed| {
            ModelConfig::new(Architecture::Mlp, vec![4], 3)
                .with_hidden(vec![8])
                .init(&dev, seed)
                .unwrap()
        };
        let (a, b) = (make(1), make(2));
        let x: Vec<f32> = (0..8).map(|i| i as f32 / 8.0).collect();
        let ens = DeepEnsemble::new(&[a.clone(), b.clone()]).unwrap();
        let s = ens.predict_samples(&x, &dev).unwrap();
        assert_eq!((s.samples, s.rows, s.classes), (2, 2, 3));
        let la = batched_logits(&a.valid(), &x, 10, &dev).unwrap();
        assert_eq!(&s.logits[..6], la.as_slice());
        let p = ens.predict_proba(&x, &dev).unwrap();
        let pa = crate::estimators::softmax(&la[..3].iter().map(|&v| v as f64).collect::<Vec<_>>());
        let lb = batched_logits(&b.valid(), &x, 10, &dev).unwrap();
        let pb = crate::estimators::softmax(&lb[..3].iter().map(|&v| v as f64).collect::<Vec<_>>());
        assert!((p[0] - (pa[0] + pb[0]) / 2.0).abs() < 1e-6);
        assert!(DeepEnsemble::new(&[]).is_err());
    }
}
