//! The suite's results: one row per measure, printed as a table beside the
//! target and the previous run, and written as JSON so runs can be compared.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Whether a smaller or a larger value is better.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    Lower,
    Higher,
}

/// What a figure should be: smaller or larger, or under a target.
#[derive(Debug, Clone, Copy)]
pub enum Goal {
    Lower,
    Higher,
    Below(f64),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Row {
    /// Stable key for comparing runs, e.g. `search.http.p99_ms`.
    pub id: String,
    /// What was measured, in words.
    pub name: String,
    pub value: f64,
    pub unit: String,
    pub better: Better,
    /// The target the issue sets, if any (same unit).
    pub target: Option<f64>,
    /// How the figure was taken (sample size, concurrency, ...).
    pub note: String,
}

impl Row {
    pub fn met(&self) -> Option<bool> {
        self.target.map(|t| match self.better {
            Better::Lower => self.value < t,
            Better::Higher => self.value >= t,
        })
    }
}

pub struct Results {
    pub rows: Vec<Row>,
    pub config: Value,
    started: chrono::DateTime<chrono::Local>,
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

/// The `p`-quantile (0..=1) of sorted samples.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

impl Results {
    pub fn new(config: Value) -> Results {
        Results {
            rows: Vec::new(),
            config,
            started: chrono::Local::now(),
        }
    }

    /// Adds a row and prints it at once (a run takes minutes).
    pub fn add(
        &mut self,
        id: &str,
        name: &str,
        value: f64,
        unit: &str,
        goal: Goal,
        note: impl Into<String>,
    ) {
        let (better, target) = match goal {
            Goal::Lower => (Better::Lower, None),
            Goal::Higher => (Better::Higher, None),
            Goal::Below(t) => (Better::Lower, Some(t)),
        };
        let row = Row {
            id: id.into(),
            name: name.into(),
            value,
            unit: unit.into(),
            better,
            target,
            note: note.into(),
        };
        println!(
            "  {:<58} {:>12} {}",
            row.name,
            format_value(row.value),
            row.unit
        );
        self.rows.push(row);
    }

    /// p50 and p99 rows (milliseconds) of latency samples, with the target
    /// applying to p99.
    pub fn latencies(
        &mut self,
        id: &str,
        name: &str,
        mut samples: Vec<Duration>,
        p99_target_ms: Option<f64>,
        note: &str,
    ) {
        samples.sort();
        let note = format!("n={}; {note}", samples.len());
        let p50 = ms(percentile(&samples, 0.5));
        let p99 = ms(percentile(&samples, 0.99));
        self.add(
            &format!("{id}.p50_ms"),
            &format!("{name}, p50"),
            p50,
            "ms",
            Goal::Lower,
            note.clone(),
        );
        self.add(
            &format!("{id}.p99_ms"),
            &format!("{name}, p99"),
            p99,
            "ms",
            match p99_target_ms {
                Some(t) => Goal::Below(t),
                None => Goal::Lower,
            },
            note,
        );
    }

    pub fn get(&self, id: &str) -> Option<f64> {
        self.rows.iter().find(|r| r.id == id).map(|r| r.value)
    }

    /// The closing table: measure, value, target and whether it is met,
    /// the previous run's value, and how the figure was taken.
    pub fn print_table(&self, previous: Option<&[Row]>) {
        let header = ["Measure", "Value", "Target", "Met", "Previous", "How"];
        let mut lines: Vec<[String; 6]> = Vec::new();
        for r in &self.rows {
            let target = r
                .target
                .map(|t| {
                    let sign = if r.better == Better::Lower {
                        "<"
                    } else {
                        "≥"
                    };
                    format!("{sign} {} {}", format_value(t), r.unit)
                })
                .unwrap_or_default();
            let met = match r.met() {
                Some(true) => "yes",
                Some(false) => "NO",
                None => "",
            };
            let before = previous
                .and_then(|p| p.iter().find(|p| p.id == r.id))
                .map(|p| {
                    let change = if p.value != 0.0 {
                        format!(" ({:+.0}%)", (r.value - p.value) / p.value * 100.0)
                    } else {
                        String::new()
                    };
                    format!("{}{change}", format_value(p.value))
                })
                .unwrap_or_default();
            lines.push([
                r.name.clone(),
                format!("{} {}", format_value(r.value), r.unit),
                target,
                met.into(),
                before,
                r.note.clone(),
            ]);
        }
        let width = |i: usize| {
            lines
                .iter()
                .map(|l| l[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        };
        let widths: Vec<usize> = (0..6).map(width).collect();
        let print = |cells: [&str; 6]| {
            let mut out = String::from("|");
            for (i, c) in cells.iter().enumerate() {
                let pad = widths[i] - c.chars().count();
                if i == 1 || i == 4 {
                    out.push_str(&format!(" {}{c} |", " ".repeat(pad)));
                } else {
                    out.push_str(&format!(" {c}{} |", " ".repeat(pad)));
                }
            }
            println!("{out}");
        };
        println!();
        print(header);
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        print([&rule[0], &rule[1], &rule[2], &rule[3], &rule[4], &rule[5]]);
        for l in &lines {
            print([&l[0], &l[1], &l[2], &l[3], &l[4], &l[5]]);
        }
        let missed: Vec<&str> = self
            .rows
            .iter()
            .filter(|r| r.met() == Some(false))
            .map(|r| r.name.as_str())
            .collect();
        if missed.is_empty() {
            println!("\nevery target met");
        } else {
            println!("\ntargets missed: {}", missed.join("; "));
        }
    }

    /// Writes `<dir>/<timestamp>.json` and `<dir>/latest.json`; returns the
    /// first path.
    pub fn write_json(&self, dir: &Path) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(dir)?;
        let doc = serde_json::json!({
            "started_at": self.started.to_rfc3339(),
            "finished_at": chrono::Local::now().to_rfc3339(),
            "commit": git_commit(),
            "host": host(),
            "config": self.config,
            "results": self.rows,
        });
        let text = serde_json::to_string_pretty(&doc)?;
        let path = dir.join(format!("{}.json", self.started.format("%Y%m%d-%H%M%S")));
        std::fs::write(&path, &text)?;
        std::fs::write(dir.join("latest.json"), &text)?;
        Ok(path)
    }
}

/// The rows of an earlier run's JSON file.
pub fn read_rows(path: &Path) -> Option<Vec<Row>> {
    let text = std::fs::read_to_string(path).ok()?;
    let doc: Value = serde_json::from_str(&text).ok()?;
    serde_json::from_value(doc.get("results")?.clone()).ok()
}

fn format_value(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.abs() >= 1000.0 {
        // Thousands separated, no decimals.
        let digits = format!("{:.0}", v.abs());
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        if v < 0.0 {
            format!("-{out}")
        } else {
            out
        }
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

fn git_commit() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn host() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_default();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    serde_json::json!({
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "cpu": cpu,
        "load_average_at_end": load.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
        "os": std::env::consts::OS,
    })
}
