//! Engine images: a whole [`Engine`] (scheduler, RNG, topics with their
//! retained records, groups and workers, sinks, metrics, pending faults)
//! encoded to bytes and restored from them, so that a recording can reach
//! a moment of a long run by restoring the nearest image and running
//! forward, not by re-executing from zero.
//!
//! # Format
//! `EDAIMG` and the format version as two decimal digits (8 bytes in all:
//! `EDAIMG02` today), the body's length (u64 little-endian), the body's
//! 64-bit FNV-1a (u64 little-endian), then the body: the engine's serde
//! form in MessagePack ([`rmp_serde`], structs as arrays, so no field
//! names are repeated). The length and checksum turn a truncated or
//! damaged image into a clear [`ImageError`] before any decoding.
//!
//! # Versions
//! An image restores only into the engine that made it: the body has no
//! field names, and an engine that runs differently (another random
//! stream) would not continue the run exactly even where the body
//! decodes. So the version is bumped whenever the engine's serde form or
//! the way it runs changes, and an image of another version is refused
//! by its header with [`ImageError::OtherVersion`], naming both versions,
//! before its body is read. v1: up to the ChaCha8 random stream; v2: the
//! xoshiro256++ stream.
//!
//! # What an image leaves out
//! The event store's kept log (the run's history: the recording's
//! `events` table holds it), the recorder tap and the observers' taps
//! (activity hops, delivery trace), which are off in a restored engine as
//! in a clone. The time series go in with everything later samples depend
//! on (see `metrics::image`), unlike their JSON form. A restored engine runs
//! on exactly as the original would — same actions, same random numbers,
//! same run hash — but [`Engine::rebuild_projection`] refuses to rebuild
//! from a log whose start is missing.
//!
//! Must not depend on `record`, `live`, `gui` or `cli`.

use super::bus::Fnv1a;
use super::world::Engine;

/// The format version this engine writes and reads (see the module doc).
pub const IMAGE_VERSION: u32 = 2;

/// The first bytes of every image this engine writes: [`IMAGE_PREFIX`]
/// and [`IMAGE_VERSION`] as two digits.
pub const IMAGE_MAGIC: &[u8; 8] = b"EDAIMG02";

/// The first bytes of an image of any version.
pub const IMAGE_PREFIX: &[u8; 6] = b"EDAIMG";

const HEADER: usize = 8 + 8 + 8;

/// Why an image could not be made or restored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    /// The bytes do not start with an image header ([`IMAGE_PREFIX`]
    /// and two digits).
    #[error(
        "not an engine image (no {} header)",
        String::from_utf8_lossy(IMAGE_MAGIC)
    )]
    NotAnImage,
    /// An image of another format version: made by an older (or newer)
    /// engine, which runs differently; refused before its body is read.
    #[error(
        "the engine image was made by {} version of eda-studio's engine (image v{found}, this engine reads v{reads})",
        if found < reads { "an older" } else { "a newer" }
    )]
    OtherVersion {
        /// The version in the image's header.
        found: u32,
        /// The version this engine reads ([`IMAGE_VERSION`]).
        reads: u32,
    },
    /// Fewer bytes than the header says.
    #[error("the engine image is truncated: {found} bytes of {expected}")]
    Truncated {
        /// Bytes the header announces (header included).
        expected: u64,
        /// Bytes there are.
        found: u64,
    },
    /// The body does not match its checksum.
    #[error("the engine image is damaged (checksum {found:016x}, expected {expected:016x})")]
    Checksum {
        /// The checksum in the header.
        expected: u64,
        /// The checksum of the body.
        found: u64,
    },
    /// The body does not decode as an engine of this version.
    #[error("the engine image does not decode: {0}")]
    Decode(String),
    /// The engine did not encode (a bug: every part of it is plain data).
    #[error("the engine does not encode: {0}")]
    Encode(String),
}

/// The format version in an image's first bytes: `None` when they are
/// not an image header at all (see the module doc). A caller reading
/// images itself (a recording's check) refuses another version with
/// [`ImageError::OtherVersion`] as [`Engine::from_image`] does.
pub fn image_version(bytes: &[u8]) -> Option<u32> {
    let digits = bytes.get(IMAGE_PREFIX.len()..IMAGE_MAGIC.len())?;
    if !bytes.starts_with(IMAGE_PREFIX) || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(digits.iter().fold(0, |v, d| v * 10 + u32::from(d - b'0')))
}

/// Refuses `bytes` unless they start with this engine's header.
pub fn check_image_version(bytes: &[u8]) -> Result<(), ImageError> {
    match image_version(bytes) {
        None => Err(ImageError::NotAnImage),
        Some(IMAGE_VERSION) => Ok(()),
        Some(found) => Err(ImageError::OtherVersion {
            found,
            reads: IMAGE_VERSION,
        }),
    }
}

fn checksum(body: &[u8]) -> u64 {
    let mut h = Fnv1a::new();
    h.write(body);
    h.finish()
}

impl Engine {
    /// Encodes the whole engine as an image (see the module doc).
    pub fn to_image(&self) -> Result<Vec<u8>, ImageError> {
        let mut out = Vec::with_capacity(1 << 20);
        out.extend_from_slice(IMAGE_MAGIC);
        out.extend_from_slice(&[0; 16]);
        rmp_serde::encode::write(&mut out, self).map_err(|e| ImageError::Encode(e.to_string()))?;
        let body_len = (out.len() - HEADER) as u64;
        let sum = checksum(&out[HEADER..]);
        out[8..16].copy_from_slice(&body_len.to_le_bytes());
        out[16..24].copy_from_slice(&sum.to_le_bytes());
        Ok(out)
    }

    /// Restores an engine from an image made by [`Engine::to_image`]:
    /// it continues exactly where the imaged one was.
    pub fn from_image(bytes: &[u8]) -> Result<Engine, ImageError> {
        check_image_version(bytes)?;
        let word = |at: usize| {
            bytes
                .get(at..at + 8)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_le_bytes)
        };
        let (Some(body_len), Some(expected)) = (word(8), word(16)) else {
            return Err(ImageError::Truncated {
                expected: HEADER as u64,
                found: bytes.len() as u64,
            });
        };
        let total = body_len.saturating_add(HEADER as u64);
        if (bytes.len() as u64) != total {
            return Err(ImageError::Truncated {
                expected: total,
                found: bytes.len() as u64,
            });
        }
        let body = &bytes[HEADER..];
        let found = checksum(body);
        if found != expected {
            return Err(ImageError::Checksum { expected, found });
        }
        let mut engine: Engine =
            rmp_serde::from_slice(body).map_err(|e| ImageError::Decode(e.to_string()))?;
        engine.after_restore();
        Ok(engine)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mermaid::parse_flowchart;
    use crate::model::ArchGraph;
    use crate::sim::{Fault, Scenario, VirtualTime};

    fn seed_engine() -> Engine {
        let chart = parse_flowchart(crate::SEED_DIAGRAM).expect("the seed parses");
        let graph = ArchGraph::from_flowchart(&chart);
        let scenario = Scenario::default_for(&graph);
        Engine::new(&graph, scenario, 11).expect("builds")
    }

    #[test]
    fn a_restored_engine_continues_exactly() {
        let mut live = seed_engine();
        live.apply_fault(Fault::FailDeliveries { percent: 3.0 })
            .expect("fault");
        live.run_until(VirtualTime::from_secs(3));
        let image = live.to_image().expect("encodes");
        let mut restored = Engine::from_image(&image).expect("decodes");
        assert_eq!(restored.run_hash(), live.run_hash());
        assert_eq!(restored.summary(), live.summary());
        assert_eq!(restored.to_image().expect("encodes"), image, "stable");
        live.run_until(VirtualTime::from_secs(6));
        restored.run_until(VirtualTime::from_secs(6));
        assert_eq!(restored.run_hash(), live.run_hash());
        assert_eq!(restored.summary(), live.summary());
    }

    /// The state main's engine added — interval latency buffers, sample
    /// sources and bound, invariant examples, DLQ records with their
    /// payloads, a DLQ replay — survives an image: the restored engine's
    /// time series, invariants and DLQs then stay equal to the original's.
    #[test]
    fn a_restored_engine_samples_the_same_time_series() {
        let mut live = seed_engine();
        let group = live.group_names().next().expect("a group").to_string();
        live.apply_fault(Fault::FailDeliveries { percent: 20.0 })
            .expect("fault");
        live.apply_fault(Fault::PoisonNext { topic: None })
            .expect("fault");
        live.apply_fault(Fault::Crash {
            group: group.clone(),
            instance: 0,
            duration_us: Some(400_000),
        })
        .expect("fault");
        // Mid-interval, so the open interval's values matter.
        live.run_until(VirtualTime::from_us(2_345_678));
        assert!(
            live.dead_letters(&group)
                .is_some_and(|d| !d.records.is_empty()),
            "the test needs dead letters"
        );
        let image = live.to_image().expect("encodes");
        let mut restored = Engine::from_image(&image).expect("decodes");
        assert_eq!(restored.series(), live.series(), "internal buffers too");

        for e in [&mut live, &mut restored] {
            e.run_until(VirtualTime::from_secs(4));
            e.apply_fault(Fault::ReplayDlq {
                group: group.clone(),
            })
            .expect("replay");
            e.run_until(VirtualTime::from_secs(7));
        }
        let (a, b) = (live.series(), restored.series());
        assert!(a.times.len() > 10, "sampled: {}", a.times.len());
        assert!(
            a.series
                .iter()
                .any(|s| s.metric.starts_with("e2e_") && s.values.iter().any(|v| v > 0)),
            "latency percentiles were sampled"
        );
        assert_eq!(b, a);
        assert_eq!(
            serde_json::to_string(b).expect("json"),
            serde_json::to_string(a).expect("json")
        );
        assert_eq!(restored.run_hash(), live.run_hash());
        assert_eq!(restored.summary(), live.summary());
        assert_eq!(restored.invariants(), live.invariants());
        assert_eq!(restored.dead_letters(&group), live.dead_letters(&group));
    }

    #[derive(serde::Serialize, serde::Deserialize)]
    struct SeriesImage(#[serde(with = "crate::sim::metrics::image")] crate::sim::TimeSeries);

    #[test]
    fn series_metric_names_map_back_and_unknown_ones_are_refused() {
        let mut e = seed_engine();
        e.run_until(VirtualTime::from_secs(1));
        let json = serde_json::to_value(SeriesImage(e.series().clone())).expect("json");
        let back: SeriesImage = serde_json::from_value(json.clone()).expect("decodes");
        assert_eq!(&back.0, e.series());

        let mut bad = json;
        bad["series"][0]["metric"] = serde_json::Value::from("melted_us");
        let err = serde_json::from_value::<SeriesImage>(bad)
            .err()
            .expect("an unknown metric is refused");
        assert!(
            err.to_string()
                .contains("unknown series metric `melted_us`"),
            "{err}"
        );
    }

    /// An image of the v1 format (the ChaCha8 engine's): its whole header
    /// as that engine wrote it — magic, length and checksum of its body —
    /// is refused by version, before the body, with both versions named.
    #[test]
    fn an_image_of_another_version_is_refused_by_its_header() {
        let mut e = seed_engine();
        e.run_until(VirtualTime::from_millis(300));
        let mut old = e.to_image().expect("encodes");
        old[..8].copy_from_slice(b"EDAIMG01");
        assert_eq!(image_version(&old), Some(1));
        let err = Engine::from_image(&old).expect_err("refused");
        assert_eq!(err, ImageError::OtherVersion { found: 1, reads: 2 });
        assert_eq!(
            err.to_string(),
            "the engine image was made by an older version of eda-studio's engine \
             (image v1, this engine reads v2)"
        );
        // Even when its body would not decode today (the old engine's RNG
        // state had another shape), the header decides first.
        let mut damaged = old.clone();
        let body_len = damaged.len() - HEADER;
        damaged.truncate(HEADER);
        damaged.extend(std::iter::repeat_n(0xc1, body_len));
        let sum = checksum(&damaged[HEADER..]);
        damaged[16..24].copy_from_slice(&sum.to_le_bytes());
        assert_eq!(Engine::from_image(&damaged).err(), Some(err));
        // A newer one says so; a header without digits is no image.
        old[6..8].copy_from_slice(b"07");
        let newer = Engine::from_image(&old).expect_err("refused");
        assert_eq!(newer, ImageError::OtherVersion { found: 7, reads: 2 });
        assert!(newer.to_string().contains("a newer version"), "{newer}");
        old[6..8].copy_from_slice(b"0x");
        assert_eq!(Engine::from_image(&old).err(), Some(ImageError::NotAnImage));
        assert_eq!(
            Engine::from_image(b"EDAIMG").err(),
            Some(ImageError::NotAnImage)
        );
        // This engine's own images carry its version.
        assert_eq!(
            image_version(&e.to_image().expect("encodes")),
            Some(IMAGE_VERSION)
        );
    }

    #[test]
    fn damaged_images_are_refused_clearly() {
        let mut e = seed_engine();
        e.run_until(VirtualTime::from_secs(1));
        let image = e.to_image().expect("encodes");
        assert_eq!(
            Engine::from_image(b"not an image").err(),
            Some(ImageError::NotAnImage)
        );
        assert!(matches!(
            Engine::from_image(&image[..image.len() - 10]),
            Err(ImageError::Truncated { .. })
        ));
        let mut flipped = image.clone();
        let mid = flipped.len() / 2;
        flipped[mid] ^= 0x40;
        assert!(matches!(
            Engine::from_image(&flipped),
            Err(ImageError::Checksum { .. })
        ));
        // A body that passes the checksum but is not an engine.
        let mut bogus = image[..HEADER].to_vec();
        bogus.extend_from_slice(&[0xc1, 0xc1]);
        bogus[8..16].copy_from_slice(&2u64.to_le_bytes());
        let sum = checksum(&bogus[HEADER..]);
        bogus[16..24].copy_from_slice(&sum.to_le_bytes());
        assert!(matches!(
            Engine::from_image(&bogus),
            Err(ImageError::Decode(_))
        ));
    }
}
