//! The in-app frame timer: how long each frame's UI code and each whole
//! frame (as eframe measures it: UI, tessellation and painting, without
//! waiting for vsync) took, for the status bar and the bench mode.

use std::time::{Duration, Instant};

/// Frames kept for the statistics.
const WINDOW: usize = 1024;

/// Recent frame times.
#[derive(Debug, Default)]
pub struct FrameTimer {
    ui: Vec<f32>,
    cpu: Vec<f32>,
    /// Wall-clock time from the end of one frame's UI code to the end of
    /// the next: what a user sees as the frame time (scheduling included).
    interval: Vec<f32>,
    last_end: Option<Instant>,
    frames: usize,
    first_frame: Option<Duration>,
}

impl FrameTimer {
    /// Records one frame: the UI code's time and eframe's CPU time of the
    /// previous frame (seconds), if known.
    pub fn record(&mut self, ui: Duration, cpu: Option<f32>) {
        self.frames += 1;
        let now = Instant::now();
        if let Some(last) = self.last_end.replace(now) {
            push(&mut self.interval, (now - last).as_secs_f32() * 1000.0);
        }
        push(&mut self.ui, ui.as_secs_f32() * 1000.0);
        if let Some(cpu) = cpu.filter(|c| c.is_finite()) {
            push(&mut self.cpu, cpu * 1000.0);
        }
    }

    /// Marks the end of the first frame, measured from `started`.
    pub fn first_frame_since(&mut self, started: Instant) {
        if self.first_frame.is_none() {
            self.first_frame = Some(started.elapsed());
        }
    }

    /// Frames recorded.
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// Median whole-frame CPU time of recent frames, in ms.
    pub fn median_ms(&self) -> Option<f32> {
        stats(&self.cpu)
            .map(|s| s.median)
            .or_else(|| stats(&self.ui).map(|s| s.median))
    }

    /// The bench report: min / median / p95 / max of each measure.
    pub fn report(&self, started: Option<Instant>) -> String {
        let line = |name: &str, v: &[f32]| match stats(v) {
            Some(s) => format!(
                "{name}: min {:.2} ms, median {:.2} ms, p95 {:.2} ms, max {:.2} ms ({} frames)",
                s.min,
                s.median,
                s.p95,
                s.max,
                v.len()
            ),
            None => format!("{name}: no samples"),
        };
        let mut out = format!(
            "{}\n{}\n{}",
            line("frame cpu (eframe)", &self.cpu),
            line("ui code", &self.ui),
            line("frame interval (wall)", &self.interval)
        );
        if let Some(first) = self.first_frame {
            out.push_str(&format!(
                "\nfirst frame after {:.0} ms",
                first.as_secs_f64() * 1000.0
            ));
        } else if let Some(s) = started {
            out.push_str(&format!(
                "\nrun took {:.0} ms",
                s.elapsed().as_secs_f64() * 1000.0
            ));
        }
        out
    }
}

fn push(v: &mut Vec<f32>, x: f32) {
    if v.len() == WINDOW {
        v.remove(0);
    }
    v.push(x);
}

/// Order statistics of frame times, ms.
#[derive(Debug, Clone, Copy, Default)]
struct Stats {
    min: f32,
    median: f32,
    p95: f32,
    max: f32,
}

/// The order statistics of `v`, if it has any value.
fn stats(v: &[f32]) -> Option<Stats> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(f32::total_cmp);
    let at = |q: f32| s[((s.len() - 1) as f32 * q).round() as usize];
    Some(Stats {
        min: s[0],
        median: at(0.5),
        p95: at(0.95),
        max: s[s.len() - 1],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_order_min_median_p95() {
        let mut t = FrameTimer::default();
        for ms in 1..=100u64 {
            t.record(Duration::from_millis(ms), Some(ms as f32 / 1000.0));
        }
        let s = stats(&t.cpu).unwrap_or_default();
        assert!(
            s.min <= s.median && s.median <= s.p95 && s.p95 <= s.max,
            "{s:?}"
        );
        assert!((s.p95 - 95.0).abs() < 1.5, "{}", s.p95);
        assert_eq!(s.max, 100.0);
        assert_eq!(t.frames(), 100);
        assert_eq!(t.interval.len(), 99, "one interval between each two frames");
        assert!(
            t.report(None).contains("max 100.00 ms"),
            "{}",
            t.report(None)
        );
    }
}
