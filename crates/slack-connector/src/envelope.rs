//! A successful Slack answer read in one pass: the envelope's own fields (`ok`, `error`, `needed`) noted on the way
//! while the caller's type reads the fields it names, so that a long answer (a `chat.postMessage` answer echoes the
//! whole message) is scanned once rather than once for the envelope and again for the fields.

use serde::de::value::{BorrowedStrDeserializer, StrDeserializer};
use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::forward_to_deserialize_any;
use serde_json::Value;
use std::fmt;
use std::marker::PhantomData;

/// The envelope's own fields, as the answer gave them (a field of another type is taken as absent).
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Deserialize)]
pub(crate) struct Head {
    /// Whether the call succeeded.
    pub ok: Option<bool>,
    /// The error code of a failed call.
    pub error: Option<String>,
    /// The scope a `missing_scope` error names.
    pub needed: Option<String>,
}

/// Reads `body`, a JSON object, as its envelope and as `A` (every field, the envelope's included, is offered to
/// `A`). An error when the body is not such an object or `A` cannot read it, as in most error answers (which lack
/// the fields `A` needs): the caller then reads the envelope alone.
pub(crate) fn read<A: DeserializeOwned>(body: &[u8]) -> Result<(Head, A), serde_json::Error> {
    let mut head = Head::default();
    let mut de = serde_json::Deserializer::from_slice(body);
    let answer = de.deserialize_map(Whole {
        head: &mut head,
        wanted: PhantomData::<A>,
    })?;
    de.end()?;
    Ok((head, answer))
}

/// The visitor of the whole object: hands its fields to `A` through [`Fields`].
struct Whole<'h, A> {
    head: &'h mut Head,
    wanted: PhantomData<A>,
}

impl<'de, A: DeserializeOwned> Visitor<'de> for Whole<'_, A> {
    type Value = A;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<A, M::Error> {
        A::deserialize(Fields {
            map,
            head: self.head,
            envelope_key: None,
        })
    }
}

/// The object's fields as `A` sees them, the envelope's noted on the way.
struct Fields<'h, M> {
    map: M,
    head: &'h mut Head,
    /// The envelope field whose value comes next.
    envelope_key: Option<Key>,
}

/// A key of the envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Ok,
    Error,
    Needed,
}

impl Key {
    fn of(key: &str) -> Option<Key> {
        match key {
            "ok" => Some(Key::Ok),
            "error" => Some(Key::Error),
            "needed" => Some(Key::Needed),
            _ => None,
        }
    }
}

/// `A`'s key seed: notes an envelope key, then gives the key to `A` as it came.
struct KeySeed<'k, S> {
    seed: S,
    noted: &'k mut Option<Key>,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for KeySeed<'_, S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de, S: DeserializeSeed<'de>> Visitor<'de> for KeySeed<'_, S> {
    type Value = S::Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_borrowed_str<E: de::Error>(self, key: &'de str) -> Result<S::Value, E> {
        *self.noted = Key::of(key);
        self.seed.deserialize(BorrowedStrDeserializer::new(key))
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<S::Value, E> {
        // A key with an escape, decoded into the reader's scratch space.
        *self.noted = Key::of(key);
        self.seed.deserialize(StrDeserializer::new(key))
    }
}

impl<'de, M: MapAccess<'de>> MapAccess<'de> for Fields<'_, M> {
    type Error = M::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, M::Error> {
        self.map.next_key_seed(KeySeed {
            seed,
            noted: &mut self.envelope_key,
        })
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, M::Error> {
        let Some(key) = self.envelope_key.take() else {
            return self.map.next_value_seed(seed);
        };
        // A small value (a flag or a code): read whole, noted, then offered to `A`.
        let value: Value = self.map.next_value()?;
        match (key, &value) {
            (Key::Ok, Value::Bool(ok)) => self.head.ok = Some(*ok),
            (Key::Error, Value::String(code)) => self.head.error = Some(code.clone()),
            (Key::Needed, Value::String(scope)) => self.head.needed = Some(scope.clone()),
            _ => {}
        }
        seed.deserialize(value).map_err(de::Error::custom)
    }
}

impl<'de, M: MapAccess<'de>> Deserializer<'de> for Fields<'_, M> {
    type Error = M::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, M::Error> {
        visitor.visit_map(self)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Where {
        channel: String,
        ts: Option<String>,
    }

    #[test]
    fn the_envelope_and_the_fields_in_one_pass() {
        let body = br#"{"ok":true,"channel":"D1","ts":"1.2","message":{"text":"a \"quoted\" word","blocks":[{"type":"header"}]},"warning":"superfluous_charset"}"#;
        let (head, answer) = read::<Where>(body).unwrap();
        assert_eq!(head.ok, Some(true));
        assert_eq!(
            answer,
            Where {
                channel: "D1".into(),
                ts: Some("1.2".into())
            }
        );
    }

    #[test]
    fn the_caller_sees_the_envelope_fields_too_and_escaped_keys_are_read() {
        let body = br#"{"ok":true,"ch\u0061nnel":"D1","needed":"im:write"}"#;
        let (head, answer) = read::<Value>(body).unwrap();
        assert_eq!(head.needed.as_deref(), Some("im:write"));
        assert_eq!(
            answer,
            serde_json::json!({"ok": true, "channel": "D1", "needed": "im:write"})
        );
        let (head, answer) = read::<Where>(body).unwrap();
        assert_eq!((head.ok, answer.channel.as_str()), (Some(true), "D1"));
    }

    #[test]
    fn what_the_caller_cannot_read_is_an_error() {
        // An error answer lacks the fields; the caller then reads the envelope alone.
        assert!(read::<Where>(br#"{"ok":false,"error":"channel_not_found"}"#).is_err());
        assert!(read::<Where>(br#"{"ok":true,"channel":5}"#).is_err());
        assert!(read::<Where>(b"<html>").is_err());
        assert!(read::<Where>(br#"{"ok":true,"channel":"D1"} trailing"#).is_err());
        // A flag of another type is not taken for one.
        let (head, _) = read::<Value>(br#"{"ok":"yes"}"#).unwrap();
        assert_eq!(head.ok, None);
    }
}
