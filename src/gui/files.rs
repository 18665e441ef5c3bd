//! Files around the document: the native file dialog (run on its own
//! thread so the UI never freezes), Open Recent, and the autosave /
//! recovery file.
//!
//! Knows nothing of the canvas or panels; the app asks and polls.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

/// What a dialog's answer will be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogPurpose {
    /// Open a diagram.
    Open,
    /// Save the diagram.
    SaveAs,
    /// Export in a format.
    Export(super::command::ExportFormat),
    /// Save the live run as a recording.
    SaveRun,
    /// Open a recording.
    OpenRun,
}

/// A native dialog running on its own thread.
pub struct PendingDialog {
    /// What the answer is for.
    pub purpose: DialogPurpose,
    answer: Receiver<Option<PathBuf>>,
    started: Instant,
}

/// An answer that comes back sooner than this was no dialog at all (no
/// portal, no zenity): the app then offers a typed path instead.
const NO_DIALOG_WITHIN: Duration = Duration::from_millis(700);

/// What a finished dialog said.
pub enum DialogResult {
    /// The user picked this path.
    Picked(DialogPurpose, PathBuf),
    /// The user cancelled.
    Cancelled,
    /// No dialog could be shown; ask for a typed path.
    Unavailable(DialogPurpose),
}

impl PendingDialog {
    /// Starts a native dialog for `purpose` on a background thread; `wake`
    /// runs when it answers (to repaint the UI).
    pub fn start(
        purpose: DialogPurpose,
        suggested: Option<&Path>,
        wake: impl FnOnce() + Send + 'static,
    ) -> PendingDialog {
        let (tx, rx) = channel();
        let mut dialog = rfd::FileDialog::new();
        dialog = match purpose {
            DialogPurpose::Open | DialogPurpose::SaveAs => {
                dialog.add_filter("Mermaid flowchart", &["mmd", "mermaid", "md"])
            }
            DialogPurpose::Export(f) => dialog.add_filter(f.extension(), &[f.extension()]),
            DialogPurpose::SaveRun | DialogPurpose::OpenRun => {
                dialog.add_filter("Run recording", &["sqlite", "db"])
            }
        };
        if let Some(name) = suggested.and_then(|p| p.file_name()) {
            dialog = dialog.set_file_name(name.to_string_lossy());
        }
        if let Some(dir) = suggested.and_then(|p| p.parent()).filter(|d| d.is_dir()) {
            dialog = dialog.set_directory(dir);
        }
        std::thread::spawn(move || {
            let answer = match purpose {
                DialogPurpose::Open | DialogPurpose::OpenRun => dialog.pick_file(),
                DialogPurpose::SaveAs | DialogPurpose::Export(_) | DialogPurpose::SaveRun => {
                    dialog.save_file()
                }
            };
            // The receiver may be gone (app closed); nothing to do then.
            let _ = tx.send(answer);
            wake();
        });
        PendingDialog {
            purpose,
            answer: rx,
            started: Instant::now(),
        }
    }

    /// The answer, once there is one.
    pub fn poll(&self) -> Option<DialogResult> {
        let answer = self.answer.try_recv().ok()?;
        Some(match answer {
            Some(path) => DialogResult::Picked(self.purpose, path),
            None if self.started.elapsed() < NO_DIALOG_WITHIN => {
                DialogResult::Unavailable(self.purpose)
            }
            None => DialogResult::Cancelled,
        })
    }
}

/// Most recent files remembered.
pub const RECENT_LIMIT: usize = 10;

/// Puts `path` first in `recent` (no duplicates, at most [`RECENT_LIMIT`]).
pub fn remember(recent: &mut Vec<PathBuf>, path: &Path) {
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    recent.retain(|p| p != &path);
    recent.insert(0, path);
    recent.truncate(RECENT_LIMIT);
}

/// The autosave file: where unsaved work is kept in case of a crash.
#[derive(Debug, Clone)]
pub struct Autosave {
    /// The recovery file.
    pub path: PathBuf,
    /// Seconds between autosaves while there are unsaved changes.
    pub interval: Duration,
    last: Option<Instant>,
    saved_revision: Option<u64>,
}

/// First line of a recovery file: which file the work belonged to.
const ORIGIN_PREFIX: &str = "%% eda:autosave-of ";

impl Autosave {
    /// The recovery file in the XDG data directory (`$XDG_DATA_HOME` or
    /// `~/.local/share`), if a home can be found.
    pub fn in_data_dir() -> Option<Autosave> {
        let base = std::env::var_os("XDG_DATA_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
        Some(Autosave::at(base.join("eda-studio").join("autosave.mmd")))
    }

    /// A recovery file at `path`.
    pub fn at(path: PathBuf) -> Autosave {
        Autosave {
            path,
            interval: Duration::from_secs(20),
            last: None,
            saved_revision: None,
        }
    }

    /// Whether an autosave is due for a dirty document at `revision`.
    pub fn due(&self, revision: u64) -> bool {
        self.saved_revision != Some(revision)
            && self.last.is_none_or(|t| t.elapsed() >= self.interval)
    }

    /// Writes `text` (belonging to `origin`) to the recovery file.
    pub fn write(
        &mut self,
        text: &str,
        origin: Option<&Path>,
        revision: u64,
    ) -> std::io::Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let origin = origin.map(|p| p.display().to_string()).unwrap_or_default();
        let tmp = self.path.with_extension("mmd.tmp");
        std::fs::write(&tmp, format!("{ORIGIN_PREFIX}{origin}\n{text}"))?;
        std::fs::rename(&tmp, &self.path)?;
        self.last = Some(Instant::now());
        self.saved_revision = Some(revision);
        Ok(())
    }

    /// Removes the recovery file (the work was saved or discarded).
    pub fn clear(&mut self) {
        // Missing already is fine.
        let _ = std::fs::remove_file(&self.path);
        self.saved_revision = None;
    }

    /// A recovery file left by a previous run: its text and original file.
    pub fn leftover(&self) -> Option<(String, Option<PathBuf>)> {
        let all = std::fs::read_to_string(&self.path).ok()?;
        let (first, rest) = all.split_once('\n')?;
        let origin = first.strip_prefix(ORIGIN_PREFIX)?;
        let origin = (!origin.is_empty()).then(|| PathBuf::from(origin));
        Some((rest.to_string(), origin))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_keeps_newest_first_without_duplicates() {
        let mut recent = Vec::new();
        for p in ["/a.mmd", "/b.mmd", "/a.mmd"] {
            remember(&mut recent, Path::new(p));
        }
        assert_eq!(
            recent,
            vec![PathBuf::from("/a.mmd"), PathBuf::from("/b.mmd")]
        );
        for i in 0..30 {
            remember(&mut recent, Path::new(&format!("/{i}.mmd")));
        }
        assert_eq!(recent.len(), RECENT_LIMIT);
    }

    #[test]
    fn autosave_round_trips_and_clears() {
        let dir = std::env::temp_dir().join(format!("eda-autosave-{}", std::process::id()));
        let mut a = Autosave::at(dir.join("autosave.mmd"));
        assert!(a.due(1));
        a.write("flowchart TD\nA\n", Some(Path::new("/x/y.mmd")), 1)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!a.due(1));
        let (text, origin) = a.leftover().unwrap_or_default();
        assert_eq!(text, "flowchart TD\nA\n");
        assert_eq!(origin, Some(PathBuf::from("/x/y.mmd")));
        a.clear();
        assert!(a.leftover().is_none());
        let _ = std::fs::remove_dir_all(dir);
    }
}
