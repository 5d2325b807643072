//! Percentiles and the printed tables.

use std::time::Duration;

/// Latency samples, microseconds.
#[derive(Debug, Default, Clone)]
pub struct Samples(pub Vec<u64>);

impl Samples {
    pub fn push(&mut self, d: Duration) {
        self.0.push(d.as_micros() as u64);
    }

    pub fn extend(&mut self, other: Samples) {
        self.0.extend(other.0);
    }

    /// Nearest-rank percentile, milliseconds.
    pub fn pct(&self, p: f64) -> f64 {
        if self.0.is_empty() {
            return f64::NAN;
        }
        let mut v = self.0.clone();
        v.sort_unstable();
        let rank = ((p / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
        v[rank.min(v.len()) - 1] as f64 / 1000.0
    }

    pub fn max(&self) -> f64 {
        self.0.iter().copied().max().unwrap_or(0) as f64 / 1000.0
    }
}

/// A two-column table.
#[derive(Debug, Default)]
pub struct Table {
    title: String,
    rows: Vec<(String, String)>,
}

impl Table {
    pub fn new(title: &str) -> Table {
        Table {
            title: title.to_string(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, k: &str, v: impl std::fmt::Display) {
        self.rows.push((k.to_string(), v.to_string()));
    }

    pub fn print(&self) {
        let w = self.rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
        println!();
        println!("== {} ==", self.title);
        for (k, v) in &self.rows {
            println!("  {k:<w$}  {v}");
        }
    }
}

/// One line per target: met or missed, with the figure.
#[derive(Debug, Default)]
pub struct Verdicts(pub Vec<(bool, String)>);

impl Verdicts {
    /// `value` must be at most (`at_most`) or at least the `limit`.
    pub fn check(&mut self, what: &str, value: f64, unit: &str, at_most: bool, limit: f64) {
        let met = if at_most {
            value <= limit
        } else {
            value >= limit
        };
        let cmp = if at_most { "≤" } else { "≥" };
        self.0.push((
            met,
            format!(
                "{}: {what} = {} {unit} (target {cmp} {} {unit})",
                if met { "MET   " } else { "MISSED" },
                fmt_num(value),
                fmt_num(limit),
            ),
        ));
    }

    pub fn print(&self) {
        println!();
        for (_, line) in &self.0 {
            println!("{line}");
        }
    }

    pub fn all_met(&self) -> bool {
        self.0.iter().all(|(m, _)| *m)
    }
}

pub fn fmt_num(v: f64) -> String {
    if v.is_nan() {
        "n/a".into()
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

pub fn ms(v: f64) -> String {
    format!("{} ms", fmt_num(v))
}

pub fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let s = Samples((1..=100).map(|i| i * 1000).collect());
        assert_eq!(s.pct(50.0), 50.0);
        assert_eq!(s.pct(99.0), 99.0);
        assert_eq!(s.pct(100.0), 100.0);
        assert_eq!(s.max(), 100.0);
    }
}
