//! A scenario file (`load-tests/scenarios/*.toml`): a province meeting of one chair and N
//! sites that join at a given rate while the chair moves the floor.

use std::path::Path;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

/// One scenario.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Name used for the results folder and the report.
    pub name: String,
    /// One line for the report.
    #[serde(default)]
    pub description: String,
    /// Sites besides the chair, in each meeting.
    pub sites: usize,
    /// Meetings run at once, each with its chair and `sites` sites joining at `join_rate`
    /// (two meetings of 100 load a sharded node's shards side by side). Churn needs one.
    #[serde(default = "one")]
    pub meetings: usize,
    /// Join ramp, sites per second.
    pub join_rate: f64,
    /// Seconds between floor changes (the chair revokes the holder and grants the next site);
    /// 0 never grants the floor.
    #[serde(default)]
    pub floor_change_s: f64,
    /// Seconds of measurement after every site joined and `settle_s` passed.
    pub duration_s: f64,
    /// Seconds between the end of the ramp and the start of the measurement.
    #[serde(default = "default_settle")]
    pub settle_s: f64,
    /// Seconds between periodic keyframes of every camera layer (0: only on PLI).
    #[serde(default = "default_keyframe")]
    pub keyframe_interval_s: f64,
    /// Whether sites send microphone audio (the chair always does).
    #[serde(default = "yes")]
    pub site_mic: bool,
    /// Seconds between churn rounds after the ramp (0: no churn): each round `churn_sites`
    /// sites (never the chair or the floor holder) leave, and each comes back with the same
    /// invite `rejoin_after_s` later.
    #[serde(default)]
    pub churn_every_s: f64,
    /// Sites that leave in each churn round.
    #[serde(default = "one")]
    pub churn_sites: usize,
    /// Seconds a churned site stays away.
    #[serde(default = "default_rejoin")]
    pub rejoin_after_s: f64,
    /// Seconds of the measurement window before the server's memory and open files count as
    /// warmed up (the steadiness verdict looks at the samples after it).
    #[serde(default)]
    pub warmup_s: f64,
    /// Tiles per page of the hall's grid (the meeting's `grid_page_size`; none: the server's
    /// default). diemcau only.
    #[serde(default)]
    pub grid_page_size: Option<u16>,
    /// Seconds between the hall's grid pages once the ramp is over (0: no rotation): the
    /// chair asks for the next page as the web client's rotation does. diemcau only.
    #[serde(default)]
    pub grid_rotate_s: f64,
}

fn one() -> usize {
    1
}

fn default_rejoin() -> f64 {
    5.0
}

fn default_settle() -> f64 {
    3.0
}

fn default_keyframe() -> f64 {
    5.0
}

fn yes() -> bool {
    true
}

impl Scenario {
    /// Reads and checks a scenario file.
    pub fn load(path: &Path) -> anyhow::Result<Scenario> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let s: Scenario =
            toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        s.check()?;
        Ok(s)
    }

    /// Refuses values that make no run.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.sites == 0 || self.sites > 2000 {
            bail!("sites must be 1 to 2000");
        }
        let positive = |v: f64| v.is_finite() && v > 0.0;
        let not_negative = |v: f64| v.is_finite() && v >= 0.0;
        if !positive(self.join_rate) {
            bail!("join_rate must be positive");
        }
        let durations = [
            self.floor_change_s,
            self.settle_s,
            self.keyframe_interval_s,
            self.churn_every_s,
            self.rejoin_after_s,
            self.warmup_s,
            self.grid_rotate_s,
        ];
        if !positive(self.duration_s) || !durations.into_iter().all(not_negative) {
            bail!("duration_s must be positive, the other durations zero or more");
        }
        if self.meetings == 0 || self.meetings > 16 {
            bail!("meetings must be 1 to 16");
        }
        if self.meetings > 1 && self.churn_every_s > 0.0 {
            bail!("churn runs with one meeting (meetings = 1)");
        }
        if self.meetings > 1 && self.grid_rotate_s > 0.0 {
            bail!("the hall's grid rotation runs with one meeting (meetings = 1)");
        }
        if self.churn_every_s > 0.0 && (self.churn_sites == 0 || self.churn_sites >= self.sites) {
            bail!("churn_sites must be 1 to sites - 1");
        }
        if self.warmup_s >= self.duration_s {
            bail!("warmup_s must be shorter than duration_s");
        }
        let max_page = signaling::meeting::MAX_GRID_PAGE;
        if self
            .grid_page_size
            .is_some_and(|n| !(1..=max_page).contains(&n))
        {
            bail!("grid_page_size must be 1 to {max_page}");
        }
        Ok(())
    }

    /// Seconds the join ramp takes.
    pub fn ramp_s(&self) -> f64 {
        self.sites as f64 / self.join_rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_scenario_loads() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let mut n = 0;
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "toml") {
                Scenario::load(&p).unwrap_or_else(|e| panic!("{}: {e:#}", p.display()));
                n += 1;
            }
        }
        assert!(n >= 6, "smoke + four presets + soak");
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        assert!(toml::from_str::<Scenario>(
            "name='x'\nsites=1\njoin_rate=1\nduration_s=1\nsitse=2"
        )
        .is_err());
        let s: Scenario = toml::from_str("name='x'\nsites=1\njoin_rate=0\nduration_s=1").unwrap();
        assert!(s.check().is_err());
        let churn_all: Scenario = toml::from_str(
            "name='x'\nsites=2\njoin_rate=1\nduration_s=9\nchurn_every_s=5\nchurn_sites=2",
        )
        .unwrap();
        assert!(churn_all.check().is_err());
        let no_tiles: Scenario =
            toml::from_str("name='x'\nsites=2\njoin_rate=1\nduration_s=9\ngrid_page_size=0")
                .unwrap();
        assert!(no_tiles.check().is_err());
        let backwards: Scenario =
            toml::from_str("name='x'\nsites=2\njoin_rate=1\nduration_s=9\ngrid_rotate_s=-1")
                .unwrap();
        assert!(backwards.check().is_err());
    }

    #[test]
    fn one_meeting_unless_told_and_churn_only_with_one() {
        let two: Scenario =
            toml::from_str("name='x'\nsites=2\njoin_rate=1\nduration_s=9\nmeetings=2").unwrap();
        assert!(two.check().is_ok());
        assert_eq!(
            toml::from_str::<Scenario>("name='x'\nsites=2\njoin_rate=1\nduration_s=9")
                .unwrap()
                .meetings,
            1,
            "one meeting unless told"
        );
        let none: Scenario =
            toml::from_str("name='x'\nsites=2\njoin_rate=1\nduration_s=9\nmeetings=0").unwrap();
        assert!(none.check().is_err());
        let churn_two: Scenario = toml::from_str(
            "name='x'\nsites=3\njoin_rate=1\nduration_s=9\nmeetings=2\nchurn_every_s=5",
        )
        .unwrap();
        assert!(churn_two.check().is_err());
    }
}
