//! Staffing advice with the Erlang C queueing model (M/M/c): how many counters keep a target
//! such as "90% of citizens wait at most 15 minutes", given arrivals per hour and the mean
//! service time.

/// Most counters the advice will ever suggest for one department.
pub const COUNTERS_ADVICE_MAX: u32 = 50;

/// Probability that an arrival has to wait at all, with `c` counters and an offered load of
/// `a = λ · mean service time` (Erlangs). Computed through the Erlang B recursion, which stays
/// stable for large `c`.
pub fn erlang_c(c: u32, a: f64) -> f64 {
    if c == 0 || a <= 0.0 {
        return if a > 0.0 { 1.0 } else { 0.0 };
    }
    if a >= c as f64 {
        return 1.0;
    }
    let mut b = 1.0;
    for k in 1..=c {
        b = a * b / (k as f64 + a * b);
    }
    let c = c as f64;
    c * b / (c - a * (1.0 - b))
}

/// Share of arrivals who wait at most `target_wait_s` before a counter calls them.
pub fn service_level(
    c: u32,
    arrivals_per_hour: f64,
    mean_service_s: f64,
    target_wait_s: f64,
) -> f64 {
    if arrivals_per_hour <= 0.0 {
        return 1.0;
    }
    let lambda = arrivals_per_hour / 3600.0;
    let a = lambda * mean_service_s;
    if c == 0 || a >= c as f64 {
        return 0.0;
    }
    let mu = 1.0 / mean_service_s;
    1.0 - erlang_c(c, a) * (-(c as f64 * mu - lambda) * target_wait_s).exp()
}

/// The fewest counters that meet the target share (e.g. 0.9) of waits within `target_wait_s`;
/// `None` when even [`COUNTERS_ADVICE_MAX`] would not.
pub fn counters_needed(
    arrivals_per_hour: f64,
    mean_service_s: f64,
    target_wait_s: f64,
    target_share: f64,
) -> Option<u32> {
    if arrivals_per_hour <= 0.0 {
        return Some(0);
    }
    (1..=COUNTERS_ADVICE_MAX).find(|&c| {
        service_level(c, arrivals_per_hour, mean_service_s, target_wait_s) >= target_share
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erlang_c_matches_known_values() {
        // Textbook case: a = 2 Erlangs, c = 3 → C ≈ 0.4444.
        assert!((erlang_c(3, 2.0) - 0.444_444).abs() < 1e-4);
        // One server: C = ρ.
        assert!((erlang_c(1, 0.5) - 0.5).abs() < 1e-12);
        assert_eq!(erlang_c(2, 2.5), 1.0);
    }

    #[test]
    fn more_counters_never_hurt() {
        let mut last = 0.0;
        for c in 5..15 {
            let sl = service_level(c, 30.0, 600.0, 900.0);
            assert!(sl >= last);
            last = sl;
        }
    }

    #[test]
    fn advice_for_a_busy_morning() {
        // 30 arrivals an hour, 10 minutes each: 5 Erlangs. Five counters cannot keep up with
        // 90% within 15 minutes; the advice is the first count that can.
        let c = counters_needed(30.0, 600.0, 900.0, 0.9).unwrap();
        assert!(service_level(c, 30.0, 600.0, 900.0) >= 0.9);
        assert!(service_level(c - 1, 30.0, 600.0, 900.0) < 0.9);
        assert!(c > 5);
        assert_eq!(counters_needed(0.0, 600.0, 900.0, 0.9), Some(0));
    }
}
