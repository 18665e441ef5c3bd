//! [`Id`]: a small, immutable piece of diagram text (node ids, edge
//! endpoints, subgraph members, labels).
//!
//! A large flowchart names each node many times: as a vertex, as the end of
//! every edge that touches it, as a subgraph member. Giving each mention its
//! own `String` made allocation the parser's largest cost, and sharing one
//! reference-counted string still left an allocation per node and label,
//! a count to bump per mention and one to drop per edge end, each at a
//! random place in memory on big charts. Most ids and labels are short
//! (`svc12`, `Order DB`), so text of up to 15 bytes is kept in the value
//! itself: copying it touches nothing else and dropping it frees nothing.
//! Longer text is shared behind one pointer, so an `Id` stays two words.
//! Must not depend on anything else in the crate.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// The most bytes kept in place.
pub(crate) const INLINE: usize = 15;

/// Shared immutable text; cheap to clone, compares and hashes as its `str`.
/// Text of up to 15 bytes allocates nothing.
#[derive(Clone)]
pub struct Id(Repr);

#[derive(Clone)]
enum Repr {
    /// The first `len` bytes are the text (valid UTF-8, as it came from a
    /// `str`).
    Inline { len: Len, bytes: [u8; INLINE] },
    /// Longer text. A thin pointer (the `Box` holds the length), so the
    /// spare values of `Len` tell the two apart and `Id` stays 16 bytes.
    Shared(Arc<Box<str>>),
}

/// An inline length, 0 to 15: the other values of the byte are free for
/// the enum's tag.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Len {
    L0,
    L1,
    L2,
    L3,
    L4,
    L5,
    L6,
    L7,
    L8,
    L9,
    L10,
    L11,
    L12,
    L13,
    L14,
    L15,
}

const LENS: [Len; INLINE + 1] = [
    Len::L0,
    Len::L1,
    Len::L2,
    Len::L3,
    Len::L4,
    Len::L5,
    Len::L6,
    Len::L7,
    Len::L8,
    Len::L9,
    Len::L10,
    Len::L11,
    Len::L12,
    Len::L13,
    Len::L14,
    Len::L15,
];

impl Default for Id {
    fn default() -> Self {
        Id(Repr::Inline {
            len: Len::L0,
            bytes: [0; INLINE],
        })
    }
}

impl Id {
    /// The text.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            // Always valid: the bytes were copied from a `str` whole.
            Repr::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..*len as usize]).unwrap_or_default()
            }
            Repr::Shared(s) => s,
        }
    }

    /// The text's bytes, without the UTF-8 check `as_str` pays.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, bytes } => &bytes[..*len as usize],
            Repr::Shared(s) => s.as_bytes(),
        }
    }

    /// The text's length in bytes.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.as_bytes().is_empty()
    }
}

impl Deref for Id {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Id {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Id {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for Id {
    fn from(s: &str) -> Self {
        match LENS.get(s.len()) {
            Some(&len) => Id(Repr::Inline {
                len,
                bytes: copy_short(s.as_bytes()),
            }),
            None => Id(Repr::Shared(Arc::new(Box::from(s)))),
        }
    }
}

/// `src` (at most 15 bytes) at the start of a zeroed array. Two
/// overlapping fixed-size copies instead of one of variable length, which
/// would be a call to `memcpy` costing more than the rest of `Id::from`.
fn copy_short(src: &[u8]) -> [u8; INLINE] {
    let mut out = [0; INLINE];
    let n = src.len();
    let mut copy = |width: usize| {
        out[..width].copy_from_slice(&src[..width]);
        out[n - width..n].copy_from_slice(&src[n - width..]);
    };
    match n {
        8.. => copy(8),
        4..=7 => copy(4),
        2..=3 => copy(2),
        1 => out[0] = src[0],
        0 => {}
    }
    out
}

impl From<String> for Id {
    fn from(s: String) -> Self {
        if s.len() <= INLINE {
            return Id::from(s.as_str());
        }
        Id(Repr::Shared(Arc::new(s.into_boxed_str())))
    }
}

impl From<&String> for Id {
    fn from(s: &String) -> Self {
        Id::from(s.as_str())
    }
}

impl From<Id> for String {
    fn from(id: Id) -> Self {
        id.as_str().to_string()
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq for Id {
    fn eq(&self, other: &Id) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Id {}

impl PartialOrd for Id {
    fn partial_cmp(&self, other: &Id) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Id {
    // `str` orders by bytes.
    fn cmp(&self, other: &Id) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl std::hash::Hash for Id {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialEq<str> for Id {
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<&str> for Id {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<String> for Id {
    fn eq(&self, other: &String) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<Id> for str {
    fn eq(&self, other: &Id) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<Id> for &str {
    fn eq(&self, other: &Id) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<Id> for String {
    fn eq(&self, other: &Id) -> bool {
        self.as_str() == other.as_str()
    }
}

impl serde::Serialize for Id {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_and_compare_as_text() {
        let a = Id::from("svc1");
        let b = a.clone();
        assert_eq!(a, b);
        assert_eq!(a, "svc1");
        assert_eq!("svc1", a);
        assert_eq!(a.to_string(), "svc1");
        let (x, y) = (Id::from("a"), Id::from("b"));
        assert!(x < y, "ids order as their text");
        assert_eq!(Id::from(""), Id::default());
        assert_eq!(Id::default().as_str(), "");
    }

    #[test]
    fn short_and_long_text_behave_alike() {
        assert_eq!(std::mem::size_of::<Id>(), 16, "an id is two words");
        for text in [
            "",
            "a",
            "ab",
            "abc",
            "abcd",
            "abcdefg",
            "abcdefgh",
            "fifteen bytes!!",
            "sixteen bytes!!!",
            "Notification Consumer",
            "é日本",
            "Ünïcödé ids spill",
        ] {
            let from_str = Id::from(text);
            let from_string = Id::from(text.to_string());
            assert_eq!(from_str.as_str(), text);
            assert_eq!(from_string.as_str(), text);
            assert_eq!(from_str, from_string);
            assert_eq!(from_str.len(), text.len());
            assert_eq!(from_str.clone(), text);
            let s = std::hash::BuildHasherDefault::<std::hash::DefaultHasher>::default();
            use std::hash::BuildHasher;
            assert_eq!(s.hash_one(&from_str), s.hash_one(text), "hashes as its str");
        }
        let (short, long) = (Id::from("zz"), Id::from("aaaaaaaaaaaaaaaaaaaaaa"));
        assert!(long < short, "order is the text's, whatever the storage");
    }
}
