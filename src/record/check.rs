//! The watched check of a whole recording (File ▸ Open Run), built so
//! that its progress is honest and Cancel is prompt however large the
//! file: SQLite's `quick_check` calls a progress handler per b-tree page
//! but never while it walks a blob's overflow chain, so on a file that is
//! mostly engine images a single whole-file check sits at 0 for most of
//! its time and cannot be stopped for seconds.
//!
//! So the check goes in two parts, each watched:
//! 1. `PRAGMA quick_check(table)` for the schema table and every table
//!    but `images` (with their indexes), the progress handler counting
//!    steps against an estimate from each table's row count;
//! 2. every engine image read in [`CHUNK`]-byte pieces through incremental
//!    blob I/O, its header's length and FNV-1a checksum verified, the
//!    progress by bytes, cancellable between pieces; the `images` rows and
//!    the `images_by_time` index are read whole and must agree.
//!
//! The parts are weighted by their bytes (the images' blob bytes, the
//! rest of the file). Compared with a whole-file `quick_check`, this does
//! not check the free-page list, that no page is left unused or used
//! twice across tables (`quick_check` of single tables skips both), nor
//! the in-page layout of the `images` b-tree's own pages (a damaged one
//! still fails when its rows are read). It checks more of the images: a
//! whole-file check walks their overflow chains but never their bytes;
//! this verifies every image's checksum.
//!
//! Must not depend on `live`, `gui` or `cli`.

use super::{RecordError, sqlite_error};
use crate::sim::{Fnv1a, image_version};
use rusqlite::{Connection, MAIN_DB, OptionalExtension};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// SQLite virtual-machine steps between two calls of the progress handler
/// during the table checks.
pub const CHECK_TICK_OPS: i32 = 20_000;

/// Steps `quick_check` takes per row of a table, about (measured on the
/// `events` of a seed-diagram recording: 21.5); only for the progress
/// within a table, which never passes the table's share however far off
/// this is.
const OPS_PER_ROW: u64 = 22;

/// Bytes of an image read (and hashed) between two looks at Cancel: a
/// few milliseconds.
const CHUNK: usize = 1 << 20;

/// An image's header: [`crate::sim::IMAGE_MAGIC`], the body's length and its FNV-1a.
const IMAGE_HEADER: usize = 8 + 8 + 8;

/// The caller's tick and what it was last shown.
struct Watch {
    tick: Box<dyn FnMut(f32) -> bool + Send>,
    shown: f32,
    cancelled: bool,
}

impl Watch {
    /// Shows `fraction` (never less than before); `false` once cancelled.
    fn report(&mut self, fraction: f32) -> bool {
        if self.cancelled {
            return false;
        }
        self.shown = fraction.clamp(self.shown, 1.0);
        if !(self.tick)(self.shown) {
            self.cancelled = true;
        }
        !self.cancelled
    }
}

/// One table to `quick_check`, with its share of the check.
struct Table {
    name: String,
    rows: u64,
}

/// Checks the file behind `conn` (see the module doc), calling
/// `tick(fraction)` often (every few milliseconds) with the part done,
/// from 0 to 1, never decreasing; `tick` returns `false` to cancel, and
/// the check then fails with a replay error saying "cancelled".
pub(super) fn check_watched(
    conn: &mut Connection,
    path: &Path,
    tick: impl FnMut(f32) -> bool + Send + 'static,
) -> Result<(), RecordError> {
    let watch = Arc::new(Mutex::new(Watch {
        tick: Box::new(tick),
        shown: 0.0,
        cancelled: false,
    }));
    let report = |fraction: f32| watch.lock().is_ok_and(|mut w| w.report(fraction));
    let cancelled = || RecordError::Replay {
        path: path.to_path_buf(),
        reason: "cancelled".into(),
    };
    let err = |doing| move |e| sqlite_error(path, doing, e);

    let names = super::read::table_names(conn).map_err(err("reading the schema"))?;
    let has_images = names.iter().any(|n| n == "images");
    let mut tables = vec![Table {
        name: "sqlite_schema".into(),
        rows: names.len() as u64,
    }];
    for name in names.into_iter().filter(|n| n != "images") {
        let rows: i64 = conn
            .query_row(
                &format!("SELECT coalesce(max(rowid), 0) FROM \"{name}\""),
                [],
                |r| r.get(0),
            )
            .map_err(err("counting rows"))?;
        tables.push(Table {
            name,
            rows: rows.max(1) as u64,
        });
    }
    let (image_count, image_bytes): (i64, i64) = if has_images {
        conn.query_row(
            "SELECT count(*), coalesce(sum(length(image)), 0) FROM images",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(err("measuring the engine images"))?
    } else {
        (0, 0)
    };
    let image_bytes = image_bytes.max(0) as u64;
    let file_bytes: i64 = conn
        .query_row(
            "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
            [],
            |r| r.get(0),
        )
        .map_err(err("reading the page count"))?;
    let table_bytes = (file_bytes.max(0) as u64)
        .saturating_sub(image_bytes)
        .max(1);
    let tables_share = table_bytes as f64 / (table_bytes + image_bytes) as f64;
    if !report(0.0) {
        return Err(cancelled());
    }

    // 1. The tables but `images`, one `quick_check` each.
    let total_rows: u64 = tables.iter().map(|t| t.rows).sum::<u64>().max(1);
    let mut rows_before = 0;
    for table in &tables {
        let from = tables_share * rows_before as f64 / total_rows as f64;
        rows_before += table.rows;
        let to = tables_share * rows_before as f64 / total_rows as f64;
        let expected_ops = table.rows.saturating_mul(OPS_PER_ROW).max(1) as f64;
        let mut ops = 0u64;
        let handler_watch = watch.clone();
        let handler = move || {
            ops += CHECK_TICK_OPS as u64;
            let within = (ops as f64 / expected_ops).min(1.0);
            let fraction = (from + (to - from) * within) as f32;
            // `true` interrupts the check.
            !handler_watch.lock().is_ok_and(|mut w| w.report(fraction))
        };
        conn.progress_handler(CHECK_TICK_OPS, Some(handler))
            .map_err(err("watching the check"))?;
        let checked = super::read::quick_check(conn, path, Some(&table.name));
        conn.progress_handler(0, None::<fn() -> bool>)
            .map_err(err("watching the check"))?;
        if watch.lock().map_or(true, |w| w.cancelled) {
            return Err(cancelled());
        }
        checked?;
        if !report(to as f32) {
            return Err(cancelled());
        }
    }

    // 2. The engine images, piece by piece.
    if has_images {
        check_images(conn, path, image_count.max(0) as u64, &mut |done| {
            let within = done as f64 / image_bytes.max(1) as f64;
            report((tables_share + (1.0 - tables_share) * within.min(1.0)) as f32)
        })?;
    }
    if !report(1.0) {
        return Err(cancelled());
    }
    Ok(())
}

/// Reads every image whole (see the module doc), calling `read(bytes)`
/// with the image bytes read so far after each piece; it returns `false`
/// to cancel.
fn check_images(
    conn: &Connection,
    path: &Path,
    count: u64,
    read: &mut dyn FnMut(u64) -> bool,
) -> Result<(), RecordError> {
    let err = |doing| move |e| sqlite_error(path, doing, e);
    let corrupt = |detail: String| RecordError::Corrupt {
        path: path.to_path_buf(),
        detail,
    };
    let rows = |sql: &str| -> Result<Vec<(i64, i64)>, RecordError> {
        let mut stmt = conn.prepare(sql).map_err(err("reading the images"))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(err("reading the images"))?;
        rows.collect::<Result<_, _>>()
            .map_err(err("reading the images"))
    };
    let mut images = rows("SELECT id, time_us FROM images NOT INDEXED")?;
    if images.len() as u64 != count {
        return Err(corrupt(format!(
            "the images table holds {} rows, counted {count}",
            images.len()
        )));
    }
    let indexed: Option<String> = conn
        .query_row(
            "SELECT name FROM sqlite_schema WHERE type = 'index' AND name = 'images_by_time'",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(err("reading the schema"))?;
    if indexed.is_some() {
        let mut by_time = rows("SELECT id, time_us FROM images INDEXED BY images_by_time")?;
        by_time.sort_unstable();
        images.sort_unstable();
        if by_time != images {
            return Err(corrupt(
                "the index images_by_time does not match the images table".into(),
            ));
        }
    }
    let mut done = 0u64;
    let mut piece = vec![0u8; CHUNK];
    for &(id, time_us) in &images {
        let bad = |reason: String| corrupt(format!("the engine image at {time_us} us {reason}"));
        let blob = conn
            .blob_open(MAIN_DB, "images", "image", id, true)
            .map_err(err("opening an engine image"))?;
        let len = blob.len();
        let mut header = [0u8; IMAGE_HEADER];
        if len < IMAGE_HEADER {
            return Err(bad(format!("is {len} bytes, shorter than its header")));
        }
        blob.read_at_exact(&mut header, 0)
            .map_err(err("reading an engine image"))?;
        let word = |at: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&header[at..at + 8]);
            u64::from_le_bytes(w)
        };
        // Every image version has the same header, so an older engine's
        // image is checked for damage too; whether this engine can restore
        // it is the reader's question, not the file's integrity.
        if image_version(&header).is_none() {
            return Err(bad("does not start with an image header".into()));
        }
        let (body_len, expected) = (word(8), word(16));
        if body_len != (len - IMAGE_HEADER) as u64 {
            return Err(bad(format!(
                "is {len} bytes, its header says {}",
                body_len.saturating_add(IMAGE_HEADER as u64)
            )));
        }
        let mut hash = Fnv1a::new();
        let mut at = IMAGE_HEADER;
        while at < len {
            let n = CHUNK.min(len - at);
            blob.read_at_exact(&mut piece[..n], at)
                .map_err(err("reading an engine image"))?;
            hash.write(&piece[..n]);
            at += n;
            if !read(done + at as u64) {
                return Err(RecordError::Replay {
                    path: path.to_path_buf(),
                    reason: "cancelled".into(),
                });
            }
        }
        let found = hash.finish();
        if found != expected {
            return Err(bad(format!(
                "is damaged (checksum {found:016x}, its header says {expected:016x})"
            )));
        }
        done += len as u64;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use crate::mermaid::parse_flowchart;
    use crate::model::ArchGraph;
    use crate::record::{RecordError, Recorder, Recording, RunInfo};
    use crate::sim::{Engine, VirtualTime, load_scenario};
    use std::path::{Path, PathBuf};
    use std::sync::{Arc, Mutex};

    /// A seed-diagram run of `seconds` recorded with an image every
    /// second, in a scratch directory of its own.
    fn recorded(name: &str, seconds: u64) -> (PathBuf, PathBuf) {
        let dir = std::env::temp_dir().join(format!("eda-check-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("run.sqlite");
        let text = crate::SEED_DIAGRAM;
        let graph = ArchGraph::from_flowchart(&parse_flowchart(text).unwrap());
        let scenario = load_scenario(text, &graph).unwrap();
        let mut engine = Engine::new(&graph, scenario, 5).unwrap();
        let info = RunInfo {
            source_name: "<seed>",
            diagram: text,
            duration_us: seconds * 1_000_000,
        };
        let mut r = Recorder::create(&file, info, &mut engine).unwrap();
        for s in 1..=seconds {
            engine.run_until(VirtualTime::from_us(s * 1_000_000));
            r.collect(&mut engine).unwrap();
            r.snapshot(&mut engine).unwrap();
            r.image(&mut engine).unwrap();
        }
        let summary = engine.summary();
        r.finish(&mut engine, &summary).unwrap();
        (dir, file)
    }

    /// Every fraction the check showed, cancelling at the first one at
    /// or past `stop_at`.
    fn watch(file: &Path, stop_at: f32) -> (Result<(), RecordError>, Vec<f32>) {
        let shown = Arc::new(Mutex::new(Vec::new()));
        let seen = shown.clone();
        let checked = Recording::open(file).unwrap().verify_watched(move |f| {
            seen.lock().unwrap().push(f);
            f < stop_at
        });
        let shown = shown.lock().unwrap().clone();
        (checked, shown)
    }

    #[test]
    fn the_check_rises_steadily_to_one_and_stops_when_cancelled() {
        let (dir, file) = recorded("progress", 30);
        let size = std::fs::metadata(&file).unwrap().len();
        assert!(size > 4 << 20, "a multi-MB recording: {size} bytes");

        let (checked, shown) = watch(&file, f32::INFINITY);
        checked.unwrap();
        assert!(shown.windows(2).all(|w| w[0] <= w[1]), "{shown:?}");
        assert_eq!(shown.first(), Some(&0.0));
        assert_eq!(shown.last(), Some(&1.0));
        // Reported all along: in the tables and piece by piece in the images.
        let between = shown.iter().filter(|f| **f > 0.0 && **f < 1.0).count();
        assert!(between >= 10, "{shown:?}");
        let leap = shown.windows(2).map(|w| w[1] - w[0]).fold(0.0, f32::max);
        assert!(leap < 0.25, "a leap of {leap}: {shown:?}");

        // Cancelled half-way (in the images) and at once (in the tables):
        // the tick is not called again and the check says it was cancelled.
        for stop_at in [0.5, 0.0] {
            let (checked, shown) = watch(&file, stop_at);
            let err = checked.unwrap_err();
            assert!(err.to_string().contains("cancelled"), "{err}");
            assert_eq!(
                shown.iter().filter(|f| **f >= stop_at).count(),
                1,
                "{shown:?}"
            );
            assert!(shown.last().is_some_and(|f| *f < 1.0), "{shown:?}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_damaged_or_cut_image_fails_the_check() {
        let (dir, file) = recorded("images", 6);
        let conn = rusqlite::Connection::open(&file).unwrap();
        // A byte flipped inside the image at 3 s: its pages are intact,
        // its checksum is not.
        let id: i64 = conn
            .query_row("SELECT id FROM images WHERE time_us = 3000000", [], |r| {
                r.get(0)
            })
            .unwrap();
        {
            let mut blob = conn
                .blob_open(rusqlite::MAIN_DB, "images", "image", id, false)
                .unwrap();
            let mut byte = [0u8; 1];
            blob.read_at_exact(&mut byte, 5000).unwrap();
            blob.write_at(&[byte[0] ^ 0x5A], 5000).unwrap();
        }
        let err = watch(&file, f32::INFINITY).0.unwrap_err();
        assert!(matches!(err, RecordError::Corrupt { .. }), "{err:?}");
        let text = err.to_string();
        assert!(
            text.contains("3000000 us") && text.contains("checksum"),
            "{text}"
        );

        // The image at 4 s cut short: its header says more.
        conn.execute(
            "UPDATE images SET image = substr(image, 1, 1000) WHERE time_us = 4000000",
            [],
        )
        .unwrap();
        conn.execute("UPDATE images SET image = (SELECT image FROM images WHERE time_us = 2000000) WHERE id = ?1", [id])
            .unwrap();
        drop(conn);
        let err = watch(&file, f32::INFINITY).0.unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("4000000 us") && text.contains("1000 bytes, its header says"),
            "{text}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
