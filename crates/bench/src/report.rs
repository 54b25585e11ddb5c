//! What a result is made of: latency histograms and their percentile
//! summaries, the machine description, CPU cost per unit of work, and the
//! measured window that counts deliveries. The JSON field names are read by
//! bench/compare.py; renaming one breaks its tables.

use crate::client::frame_sent_at;
use hdrhistogram::Histogram;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// An empty latency histogram, in microseconds.
pub fn hist() -> Histogram<u64> {
    // 1 µs to 60 s, 3 significant digits: constant bounds that
    // `new_with_bounds` accepts (low ≥ 1, high ≥ 2 × low, sigfig ≤ 5).
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

/// A histogram's count and percentiles in milliseconds (two decimals).
pub fn summary(h: &Histogram<u64>) -> serde_json::Value {
    let ms = |v: u64| (v as f64 / 1000.0 * 100.0).round() / 100.0;
    serde_json::json!({
        "count": h.len(),
        "p50_ms": ms(h.value_at_quantile(0.50)),
        "p90_ms": ms(h.value_at_quantile(0.90)),
        "p99_ms": ms(h.value_at_quantile(0.99)),
        "p99_9_ms": ms(h.value_at_quantile(0.999)),
        "max_ms": ms(h.max()),
    })
}

/// The machine a result came from: CPU count and model.
pub fn machine() -> serde_json::Value {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_default();
    serde_json::json!({ "cpus": cpus, "cpu": model })
}

/// Microseconds of CPU per unit of work between two CPU readings (seconds),
/// to two decimals.
pub fn cpu_us_per(before: Option<f64>, after: Option<f64>, units: u64) -> Option<f64> {
    match (before, after) {
        (Some(a), Some(b)) if units > 0 => {
            Some(((b - a) * 1e6 / units as f64 * 100.0).round() / 100.0)
        }
        _ => None,
    }
}

/// The measured window of a run: records the latency of each message sent
/// inside it (whenever it arrives) and counts it.
#[derive(Clone)]
pub struct Window {
    /// The run's epoch, which send times count from.
    pub epoch: Instant,
    /// Start of the window, µs since `epoch`.
    pub start_us: u64,
    /// End of the window (excluded), µs since `epoch`.
    pub end_us: u64,
    /// Messages recorded so far, all receivers together.
    pub delivered: Arc<AtomicU64>,
}

impl Window {
    /// Records `frame`'s latency in `h` if it was sent inside the window.
    pub fn record(&self, frame: &str, h: &mut Histogram<u64>) {
        if let Some(at) = frame_sent_at(frame)
            && at >= self.start_us
            && at < self.end_us
        {
            let _ = h.record(
                (self.epoch.elapsed().as_micros() as u64)
                    .saturating_sub(at)
                    .max(1),
            );
            self.delivered.fetch_add(1, Ordering::Relaxed);
        }
    }
}
