//! GGUF metadata: an ordered key -> value map with typed getters.
//! Arrays keep their element type in typed vectors, so a 262k-entry vocabulary is one `Vec<String>`.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::error::{Result, WeightsError};

/// The on-disk value type ids of GGUF (`gguf_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum ValueType {
    U8 = 0,
    I8 = 1,
    U16 = 2,
    I16 = 3,
    U32 = 4,
    I32 = 5,
    F32 = 6,
    Bool = 7,
    String = 8,
    Array = 9,
    U64 = 10,
    I64 = 11,
    F64 = 12,
}

impl ValueType {
    pub fn from_u32(v: u32) -> Option<Self> {
        use ValueType::*;
        Some(match v {
            0 => U8,
            1 => I8,
            2 => U16,
            3 => I16,
            4 => U32,
            5 => I32,
            6 => F32,
            7 => Bool,
            8 => String,
            9 => Array,
            10 => U64,
            11 => I64,
            12 => F64,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        use ValueType::*;
        match self {
            U8 => "u8",
            I8 => "i8",
            U16 => "u16",
            I16 => "i16",
            U32 => "u32",
            I32 => "i32",
            F32 => "f32",
            Bool => "bool",
            String => "string",
            Array => "array",
            U64 => "u64",
            I64 => "i64",
            F64 => "f64",
        }
    }

    /// Bytes of one value of a fixed-size type; None for strings and arrays.
    pub fn fixed_size(self) -> Option<usize> {
        use ValueType::*;
        match self {
            U8 | I8 | Bool => Some(1),
            U16 | I16 => Some(2),
            U32 | I32 | F32 => Some(4),
            U64 | I64 | F64 => Some(8),
            String | Array => None,
        }
    }
}

/// One metadata value.
#[derive(Clone, Debug, PartialEq)]
pub enum MetaValue {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    F32(f32),
    Bool(bool),
    String(String),
    Array(MetaArray),
    U64(u64),
    I64(i64),
    F64(f64),
}

/// A homogeneous array; nested arrays hold one `MetaArray` per element, each with its own element type.
#[derive(Clone, Debug, PartialEq)]
pub enum MetaArray {
    U8(Vec<u8>),
    I8(Vec<i8>),
    U16(Vec<u16>),
    I16(Vec<i16>),
    U32(Vec<u32>),
    I32(Vec<i32>),
    F32(Vec<f32>),
    Bool(Vec<bool>),
    String(Vec<String>),
    Array(Vec<MetaArray>),
    U64(Vec<u64>),
    I64(Vec<i64>),
    F64(Vec<f64>),
}

impl MetaValue {
    pub fn value_type(&self) -> ValueType {
        match self {
            MetaValue::U8(_) => ValueType::U8,
            MetaValue::I8(_) => ValueType::I8,
            MetaValue::U16(_) => ValueType::U16,
            MetaValue::I16(_) => ValueType::I16,
            MetaValue::U32(_) => ValueType::U32,
            MetaValue::I32(_) => ValueType::I32,
            MetaValue::F32(_) => ValueType::F32,
            MetaValue::Bool(_) => ValueType::Bool,
            MetaValue::String(_) => ValueType::String,
            MetaValue::Array(_) => ValueType::Array,
            MetaValue::U64(_) => ValueType::U64,
            MetaValue::I64(_) => ValueType::I64,
            MetaValue::F64(_) => ValueType::F64,
        }
    }

    /// "u32", "string", "array<string>", "array<array<i32>>"...: used in error messages.
    pub fn type_name(&self) -> String {
        match self {
            MetaValue::Array(a) => a.type_name(),
            v => v.value_type().name().to_string(),
        }
    }

    /// The value as an integer, for any integer type (not bool, not float).
    pub fn as_int(&self) -> Option<i128> {
        Some(match *self {
            MetaValue::U8(v) => v.into(),
            MetaValue::I8(v) => v.into(),
            MetaValue::U16(v) => v.into(),
            MetaValue::I16(v) => v.into(),
            MetaValue::U32(v) => v.into(),
            MetaValue::I32(v) => v.into(),
            MetaValue::U64(v) => v.into(),
            MetaValue::I64(v) => v.into(),
            _ => return None,
        })
    }

    /// The value as a float, for any numeric type.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            MetaValue::F32(v) => Some(v.into()),
            MetaValue::F64(v) => Some(v),
            _ => self.as_int().map(|i| i as f64),
        }
    }
}

impl MetaArray {
    pub fn element_type(&self) -> ValueType {
        match self {
            MetaArray::U8(_) => ValueType::U8,
            MetaArray::I8(_) => ValueType::I8,
            MetaArray::U16(_) => ValueType::U16,
            MetaArray::I16(_) => ValueType::I16,
            MetaArray::U32(_) => ValueType::U32,
            MetaArray::I32(_) => ValueType::I32,
            MetaArray::F32(_) => ValueType::F32,
            MetaArray::Bool(_) => ValueType::Bool,
            MetaArray::String(_) => ValueType::String,
            MetaArray::Array(_) => ValueType::Array,
            MetaArray::U64(_) => ValueType::U64,
            MetaArray::I64(_) => ValueType::I64,
            MetaArray::F64(_) => ValueType::F64,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            MetaArray::U8(v) => v.len(),
            MetaArray::I8(v) => v.len(),
            MetaArray::U16(v) => v.len(),
            MetaArray::I16(v) => v.len(),
            MetaArray::U32(v) => v.len(),
            MetaArray::I32(v) => v.len(),
            MetaArray::F32(v) => v.len(),
            MetaArray::Bool(v) => v.len(),
            MetaArray::String(v) => v.len(),
            MetaArray::Array(v) => v.len(),
            MetaArray::U64(v) => v.len(),
            MetaArray::I64(v) => v.len(),
            MetaArray::F64(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn type_name(&self) -> String {
        match self {
            // An array of arrays names its first element's type; an empty one cannot say more.
            MetaArray::Array(v) => match v.first() {
                Some(inner) => format!("array<{}>", inner.type_name()),
                None => "array<array>".to_string(),
            },
            a => format!("array<{}>", a.element_type().name()),
        }
    }

    /// Every element as an integer, or None when the elements are not integers.
    fn ints(&self) -> Option<Vec<i128>> {
        Some(match self {
            MetaArray::U8(v) => v.iter().map(|&x| x.into()).collect(),
            MetaArray::I8(v) => v.iter().map(|&x| x.into()).collect(),
            MetaArray::U16(v) => v.iter().map(|&x| x.into()).collect(),
            MetaArray::I16(v) => v.iter().map(|&x| x.into()).collect(),
            MetaArray::U32(v) => v.iter().map(|&x| x.into()).collect(),
            MetaArray::I32(v) => v.iter().map(|&x| x.into()).collect(),
            MetaArray::U64(v) => v.iter().map(|&x| x.into()).collect(),
            MetaArray::I64(v) => v.iter().map(|&x| x.into()).collect(),
            _ => return None,
        })
    }
}

macro_rules! from_scalar {
    ($($t:ty => $v:ident),*) => {$(
        impl From<$t> for MetaValue { fn from(x: $t) -> Self { MetaValue::$v(x) } }
        impl From<Vec<$t>> for MetaArray { fn from(x: Vec<$t>) -> Self { MetaArray::$v(x) } }
        impl From<Vec<$t>> for MetaValue { fn from(x: Vec<$t>) -> Self { MetaValue::Array(MetaArray::$v(x)) } }
    )*};
}
from_scalar!(u8 => U8, i8 => I8, u16 => U16, i16 => I16, u32 => U32, i32 => I32, f32 => F32, bool => Bool,
    String => String, u64 => U64, i64 => I64, f64 => F64);

impl From<&str> for MetaValue {
    fn from(x: &str) -> Self {
        MetaValue::String(x.to_string())
    }
}

impl From<MetaArray> for MetaValue {
    fn from(x: MetaArray) -> Self {
        MetaValue::Array(x)
    }
}

impl From<Vec<&str>> for MetaValue {
    fn from(x: Vec<&str>) -> Self {
        MetaValue::Array(MetaArray::String(
            x.into_iter().map(str::to_string).collect(),
        ))
    }
}

/// Ordered key -> value map (file order is kept so a re-written file lists keys as the source did).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metadata {
    entries: Vec<(String, MetaValue)>,
    index: HashMap<String, usize>,
}

fn wrong_type(key: &str, expected: &'static str, v: &MetaValue) -> WeightsError {
    WeightsError::WrongType {
        key: key.to_string(),
        expected,
        actual: v.type_name(),
    }
}

fn narrow<T: TryFrom<i128>>(key: &str, n: i128, target: &'static str) -> Result<T> {
    T::try_from(n).map_err(|_| WeightsError::OutOfRange {
        key: key.to_string(),
        value: n.to_string(),
        target,
    })
}

fn narrow_array<T: TryFrom<i128>>(
    key: &str,
    a: &MetaArray,
    target: &'static str,
    expected: &'static str,
) -> Result<Vec<T>> {
    let ints = a.ints().ok_or_else(|| WeightsError::WrongType {
        key: key.to_string(),
        expected,
        actual: a.type_name(),
    })?;
    ints.into_iter().map(|n| narrow(key, n, target)).collect()
}

impl Metadata {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Set a key; an existing key keeps its position and gets the new value.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<MetaValue>) {
        let key = key.into();
        let value = value.into();
        match self.index.get(&key) {
            Some(&i) => self.entries[i].1 = value,
            None => {
                self.index.insert(key.clone(), self.entries.len());
                self.entries.push((key, value));
            }
        }
    }

    /// Remove a key, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<MetaValue> {
        let i = self.index.remove(key)?;
        let (_, v) = self.entries.remove(i);
        for idx in self.index.values_mut() {
            if *idx > i {
                *idx -= 1;
            }
        }
        Some(v)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.index.contains_key(key)
    }

    pub fn get(&self, key: &str) -> Option<&MetaValue> {
        self.index.get(key).map(|&i| &self.entries[i].1)
    }

    /// Keys and values in file order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &MetaValue)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_str())
    }

    fn require(&self, key: &str) -> Result<&MetaValue> {
        self.get(key).ok_or_else(|| WeightsError::MissingKey {
            key: key.to_string(),
        })
    }

    fn int(&self, key: &str, expected: &'static str) -> Result<i128> {
        let v = self.require(key)?;
        v.as_int().ok_or_else(|| wrong_type(key, expected, v))
    }

    /// Any integer type whose value fits in u32.
    pub fn get_u32(&self, key: &str) -> Result<u32> {
        narrow(key, self.int(key, "an integer (u32)")?, "u32")
    }

    pub fn get_u64(&self, key: &str) -> Result<u64> {
        narrow(key, self.int(key, "an integer (u64)")?, "u64")
    }

    pub fn get_i32(&self, key: &str) -> Result<i32> {
        narrow(key, self.int(key, "an integer (i32)")?, "i32")
    }

    pub fn get_i64(&self, key: &str) -> Result<i64> {
        narrow(key, self.int(key, "an integer (i64)")?, "i64")
    }

    pub fn get_usize(&self, key: &str) -> Result<usize> {
        narrow(key, self.int(key, "an integer (usize)")?, "usize")
    }

    /// f32, or f64/integers converted to f32.
    pub fn get_f32(&self, key: &str) -> Result<f32> {
        Ok(self.get_f64(key)? as f32)
    }

    pub fn get_f64(&self, key: &str) -> Result<f64> {
        let v = self.require(key)?;
        v.as_f64()
            .ok_or_else(|| wrong_type(key, "a number (f32)", v))
    }

    pub fn get_bool(&self, key: &str) -> Result<bool> {
        match self.require(key)? {
            MetaValue::Bool(b) => Ok(*b),
            v => Err(wrong_type(key, "bool", v)),
        }
    }

    pub fn get_str(&self, key: &str) -> Result<&str> {
        match self.require(key)? {
            MetaValue::String(s) => Ok(s),
            v => Err(wrong_type(key, "string", v)),
        }
    }

    pub fn get_array(&self, key: &str) -> Result<&MetaArray> {
        match self.require(key)? {
            MetaValue::Array(a) => Ok(a),
            v => Err(wrong_type(key, "array", v)),
        }
    }

    pub fn get_str_array(&self, key: &str) -> Result<&[String]> {
        match self.get_array(key)? {
            MetaArray::String(v) => Ok(v),
            a => Err(WeightsError::WrongType {
                key: key.to_string(),
                expected: "array<string>",
                actual: a.type_name(),
            }),
        }
    }

    /// Borrowed when stored as f32; f64 or integer arrays are converted.
    pub fn get_f32_array(&self, key: &str) -> Result<Cow<'_, [f32]>> {
        let a = self.get_array(key)?;
        match a {
            MetaArray::F32(v) => Ok(Cow::Borrowed(v)),
            MetaArray::F64(v) => Ok(Cow::Owned(v.iter().map(|&x| x as f32).collect())),
            _ => match a.ints() {
                Some(ints) => Ok(Cow::Owned(ints.into_iter().map(|x| x as f32).collect())),
                None => Err(WeightsError::WrongType {
                    key: key.to_string(),
                    expected: "array<f32>",
                    actual: a.type_name(),
                }),
            },
        }
    }

    /// Borrowed when stored as i32; other integer arrays are converted when every value fits.
    pub fn get_i32_array(&self, key: &str) -> Result<Cow<'_, [i32]>> {
        match self.get_array(key)? {
            MetaArray::I32(v) => Ok(Cow::Borrowed(v)),
            a => narrow_array(key, a, "i32", "array<i32>").map(Cow::Owned),
        }
    }

    /// Borrowed when stored as u32; other integer arrays are converted when every value fits.
    pub fn get_u32_array(&self, key: &str) -> Result<Cow<'_, [u32]>> {
        match self.get_array(key)? {
            MetaArray::U32(v) => Ok(Cow::Borrowed(v)),
            a => narrow_array(key, a, "u32", "array<u32>").map(Cow::Owned),
        }
    }

    // Optional variants: None when the key is missing or holds another type (use `get_*` to learn why).

    pub fn opt_u32(&self, key: &str) -> Option<u32> {
        self.get_u32(key).ok()
    }
    pub fn opt_u64(&self, key: &str) -> Option<u64> {
        self.get_u64(key).ok()
    }
    pub fn opt_i32(&self, key: &str) -> Option<i32> {
        self.get_i32(key).ok()
    }
    pub fn opt_usize(&self, key: &str) -> Option<usize> {
        self.get_usize(key).ok()
    }
    pub fn opt_f32(&self, key: &str) -> Option<f32> {
        self.get_f32(key).ok()
    }
    pub fn opt_f64(&self, key: &str) -> Option<f64> {
        self.get_f64(key).ok()
    }
    pub fn opt_bool(&self, key: &str) -> Option<bool> {
        self.get_bool(key).ok()
    }
    pub fn opt_str(&self, key: &str) -> Option<&str> {
        self.get_str(key).ok()
    }
    pub fn opt_str_array(&self, key: &str) -> Option<&[String]> {
        self.get_str_array(key).ok()
    }
    pub fn opt_f32_array(&self, key: &str) -> Option<Cow<'_, [f32]>> {
        self.get_f32_array(key).ok()
    }
    pub fn opt_i32_array(&self, key: &str) -> Option<Cow<'_, [i32]>> {
        self.get_i32_array(key).ok()
    }
    pub fn opt_u32_array(&self, key: &str) -> Option<Cow<'_, [u32]>> {
        self.get_u32_array(key).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_getters_accept_any_integer_that_fits() {
        let mut m = Metadata::new();
        m.insert("a", 7u8);
        m.insert("b", -1i32);
        m.insert("c", 1u64 << 40);
        m.insert("s", "x");
        assert_eq!(m.get_u32("a").unwrap(), 7);
        assert_eq!(m.get_u64("c").unwrap(), 1 << 40);
        assert!(matches!(
            m.get_u32("b"),
            Err(WeightsError::OutOfRange { .. })
        ));
        assert!(matches!(
            m.get_u32("c"),
            Err(WeightsError::OutOfRange { .. })
        ));
        let e = m.get_u32("s").unwrap_err().to_string();
        assert!(e.contains("'s'") && e.contains("string"), "{e}");
        let e = m.get_u32("nope").unwrap_err().to_string();
        assert!(e.contains("'nope'") && e.contains("missing"), "{e}");
        assert_eq!(m.opt_u32("b"), None);
        assert_eq!(m.opt_u32("a"), Some(7));
    }

    #[test]
    fn arrays_borrow_when_types_match_and_convert_otherwise() {
        let mut m = Metadata::new();
        m.insert("f", vec![1.0f32, 2.0]);
        m.insert("i", vec![1u8, 2]);
        m.insert("neg", vec![-1i64]);
        assert!(matches!(m.get_f32_array("f").unwrap(), Cow::Borrowed(_)));
        assert_eq!(&*m.get_i32_array("i").unwrap(), &[1, 2]);
        assert_eq!(&*m.get_u32_array("i").unwrap(), &[1, 2]);
        assert!(m.get_u32_array("neg").is_err());
        let e = m.get_str_array("f").unwrap_err().to_string();
        assert!(e.contains("array<f32>"), "{e}");
    }

    #[test]
    fn insert_keeps_order_and_remove_reindexes() {
        let mut m = Metadata::new();
        m.insert("a", 1u32);
        m.insert("b", 2u32);
        m.insert("c", 3u32);
        m.insert("a", 10u32);
        assert_eq!(m.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(m.remove("b"), Some(MetaValue::U32(2)));
        assert_eq!(m.get_u32("c").unwrap(), 3);
        assert_eq!(m.get_u32("a").unwrap(), 10);
    }
}
