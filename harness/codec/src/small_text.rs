//! [`Text`]: an immutable string that is static, stored inline when short, or owned: the parts
//! of a SIP start line (Request-URI, version, reason phrase), which decoding then mostly gets
//! without an allocation.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

/// The longest text stored inline, without an allocation.
const INLINE: usize = 30;

/// An immutable string. Reads as a `&str` (it dereferences to one). `SIP/2.0` and the standard
/// reason phrases are static, texts of up to 30 bytes are stored inline, longer ones on the heap.
#[derive(Clone)]
pub struct Text(Repr);

#[derive(Clone)]
enum Repr {
    Static(&'static str),
    /// `bytes[..len]` is always the UTF-8 of a `&str` it was copied from.
    Inline {
        len: u8,
        bytes: [u8; INLINE],
    },
    Owned(String),
}

impl Text {
    /// An empty string.
    pub const EMPTY: Text = Text(Repr::Static(""));

    /// A string that lives for the whole program (no allocation).
    pub const fn from_static(s: &'static str) -> Text {
        Text(Repr::Static(s))
    }

    /// A copy of `s`: inline when it is short, else on the heap.
    #[inline]
    pub fn new(s: &str) -> Text {
        if s.len() <= INLINE {
            let mut bytes = [0u8; INLINE];
            bytes[..s.len()].copy_from_slice(s.as_bytes());
            Text(Repr::Inline {
                len: s.len() as u8,
                bytes,
            })
        } else {
            Text(Repr::Owned(s.to_owned()))
        }
    }

    /// The string.
    #[inline]
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Static(s) => s,
            // Always valid (copied from a `&str`); the check is the price of no `unsafe`.
            Repr::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..*len as usize]).unwrap_or_default()
            }
            Repr::Owned(s) => s,
        }
    }

    /// An owned `String` with the same text.
    pub fn into_string(self) -> String {
        match self.0 {
            Repr::Owned(s) => s,
            other => Text(other).as_str().to_owned(),
        }
    }
}

impl Default for Text {
    fn default() -> Self {
        Text::EMPTY
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Text {}

impl Hash for Text {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

macro_rules! eq_with {
    ($($t:ty),*) => {$(
        impl PartialEq<$t> for Text {
            fn eq(&self, other: &$t) -> bool {
                self.as_str() == AsRef::<str>::as_ref(other)
            }
        }
        impl PartialEq<Text> for $t {
            fn eq(&self, other: &Text) -> bool {
                AsRef::<str>::as_ref(self) == other.as_str()
            }
        }
    )*};
}
eq_with!(str, String);

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<Text> for &str {
    fn eq(&self, other: &Text) -> bool {
        *self == other.as_str()
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        Text(Repr::Owned(s))
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text::new(s)
    }
}

impl From<Text> for String {
    fn from(t: Text) -> String {
        t.into_string()
    }
}

impl serde::Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[rstest::rstest]
    #[case::empty("")]
    #[case::inline("SIP/2.0/UDP a")]
    #[case::inline_longest("123456789012345678901234567890")]
    #[case::heap("1234567890123456789012345678901")]
    #[case::multibyte_inline("héllo wörld")]
    fn every_form_reads_and_compares_as_its_text(#[case] s: &'static str) {
        let forms = [
            Text::new(s),
            Text::from(s.to_owned()),
            Text::from_static(s),
            Text::from(s),
        ];
        for t in &forms {
            assert_eq!(t.as_str(), s);
            assert_eq!(*t, s);
            assert_eq!(t.len(), s.len());
            assert_eq!(format!("{t}"), s);
            assert_eq!(format!("{t:?}"), format!("{s:?}"));
            assert_eq!(t.clone().into_string(), s);
            assert_eq!(t, &forms[0]);
            assert_ne!(*t, Text::new(&format!("{s}x")));
        }
    }
}
