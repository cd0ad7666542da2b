//! The GGUF parser: bytes in, validated header out. Every count is checked against the bytes left
//! before anything is allocated, and every offset with checked arithmetic, so hostile input gives an
//! error, not a panic or a huge allocation.

use std::collections::HashMap;

use kernels::GgmlType;

use super::metadata::{MetaArray, MetaValue, Metadata, ValueType};
use super::{TensorInfo, DEFAULT_ALIGNMENT, GGUF_MAGIC, KEY_ALIGNMENT, MAX_DIMS};
use crate::error::{Result, WeightsError};

/// Nested arrays deeper than this are refused (each level costs a stack frame).
const MAX_ARRAY_DEPTH: usize = 8;
/// Smallest encodings, used to bound counts before allocating.
const MIN_KV_BYTES: u64 = 8 + 4 + 1; // key length, value type, a 1-byte value
const MIN_TENSOR_INFO_BYTES: u64 = 8 + 4 + 4 + 8; // name length, n_dims, type, offset

pub(crate) struct Parsed {
    pub version: u32,
    pub metadata: Metadata,
    pub tensor_infos: Vec<TensorInfo>,
    pub index: HashMap<String, usize>,
    pub alignment: u64,
    pub data_offset: u64,
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn remaining(&self) -> u64 {
        (self.buf.len() - self.pos) as u64
    }

    fn truncated(&self, what: String, n: u64) -> WeightsError {
        WeightsError::Truncated {
            what,
            start: self.pos as u64,
            end: (self.pos as u64).saturating_add(n),
            file_size: self.buf.len() as u64,
        }
    }

    /// Take `n` bytes; `what` names the field for the error message and is only built on failure.
    fn take(&mut self, n: u64, what: &dyn Fn() -> String) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(self.truncated(what(), n));
        }
        let start = self.pos;
        self.pos += n as usize;
        Ok(&self.buf[start..self.pos])
    }

    fn array<const N: usize>(&mut self, what: &dyn Fn() -> String) -> Result<[u8; N]> {
        let b = self.take(N as u64, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(b);
        Ok(out)
    }

    fn u32(&mut self, what: &dyn Fn() -> String) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &dyn Fn() -> String) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    fn string(&mut self, what: &dyn Fn() -> String) -> Result<String> {
        let len = self.u64(what)?;
        let bytes = self.take(len, what)?;
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(s.to_string()),
            Err(e) => Err(WeightsError::Corrupt(format!(
                "{} is not valid UTF-8 ({e})",
                what()
            ))),
        }
    }

    /// Check that `count` elements of at least `min_size` bytes each can fit in what is left.
    fn check_count(&self, count: u64, min_size: u64, what: &dyn Fn() -> String) -> Result<usize> {
        let need = count.checked_mul(min_size);
        match need {
            Some(n) if n <= self.remaining() => Ok(count as usize),
            _ => Err(WeightsError::Corrupt(format!(
                "{} claims {count} elements, more than the {} bytes left in the file can hold",
                what(),
                self.remaining()
            ))),
        }
    }

    fn value_type(&mut self, what: &dyn Fn() -> String) -> Result<ValueType> {
        let t = self.u32(what)?;
        ValueType::from_u32(t)
            .ok_or_else(|| WeightsError::Corrupt(format!("{} has unknown value type {t}", what())))
    }

    fn value(&mut self, ty: ValueType, what: &dyn Fn() -> String) -> Result<MetaValue> {
        Ok(match ty {
            ValueType::U8 => MetaValue::U8(self.array::<1>(what)?[0]),
            ValueType::I8 => MetaValue::I8(self.array::<1>(what)?[0] as i8),
            ValueType::U16 => MetaValue::U16(u16::from_le_bytes(self.array(what)?)),
            ValueType::I16 => MetaValue::I16(i16::from_le_bytes(self.array(what)?)),
            ValueType::U32 => MetaValue::U32(self.u32(what)?),
            ValueType::I32 => MetaValue::I32(i32::from_le_bytes(self.array(what)?)),
            ValueType::F32 => MetaValue::F32(f32::from_le_bytes(self.array(what)?)),
            ValueType::Bool => MetaValue::Bool(self.bool(what)?),
            ValueType::String => MetaValue::String(self.string(what)?),
            ValueType::Array => MetaValue::Array(self.meta_array(what, 0)?),
            ValueType::U64 => MetaValue::U64(self.u64(what)?),
            ValueType::I64 => MetaValue::I64(i64::from_le_bytes(self.array(what)?)),
            ValueType::F64 => MetaValue::F64(f64::from_le_bytes(self.array(what)?)),
        })
    }

    fn bool(&mut self, what: &dyn Fn() -> String) -> Result<bool> {
        match self.array::<1>(what)?[0] {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(WeightsError::Corrupt(format!(
                "{} holds bool byte {b} (expected 0 or 1)",
                what()
            ))),
        }
    }

    /// Read `n` fixed-size elements in one bounds check: the vocabulary scores are 262k f32.
    fn fixed<T, const N: usize>(
        &mut self,
        n: usize,
        what: &dyn Fn() -> String,
        conv: fn([u8; N]) -> T,
    ) -> Result<Vec<T>> {
        let bytes = self.take((n as u64) * N as u64, what)?;
        Ok(bytes
            .chunks_exact(N)
            .map(|c| {
                let mut a = [0u8; N];
                a.copy_from_slice(c);
                conv(a)
            })
            .collect())
    }

    fn meta_array(&mut self, what: &dyn Fn() -> String, depth: usize) -> Result<MetaArray> {
        if depth >= MAX_ARRAY_DEPTH {
            return Err(WeightsError::Corrupt(format!(
                "{} nests arrays deeper than {MAX_ARRAY_DEPTH} levels",
                what()
            )));
        }
        let ty = self.value_type(what)?;
        let count = self.u64(what)?;
        let min_size = match ty {
            ValueType::String => 8,
            ValueType::Array => 4 + 8,
            t => t.fixed_size().unwrap_or(1) as u64,
        };
        let n = self.check_count(count, min_size, what)?;
        Ok(match ty {
            ValueType::U8 => MetaArray::U8(self.take(n as u64, what)?.to_vec()),
            ValueType::I8 => MetaArray::I8(
                self.take(n as u64, what)?
                    .iter()
                    .map(|&b| b as i8)
                    .collect(),
            ),
            ValueType::U16 => MetaArray::U16(self.fixed(n, what, u16::from_le_bytes)?),
            ValueType::I16 => MetaArray::I16(self.fixed(n, what, i16::from_le_bytes)?),
            ValueType::U32 => MetaArray::U32(self.fixed(n, what, u32::from_le_bytes)?),
            ValueType::I32 => MetaArray::I32(self.fixed(n, what, i32::from_le_bytes)?),
            ValueType::F32 => MetaArray::F32(self.fixed(n, what, f32::from_le_bytes)?),
            ValueType::U64 => MetaArray::U64(self.fixed(n, what, u64::from_le_bytes)?),
            ValueType::I64 => MetaArray::I64(self.fixed(n, what, i64::from_le_bytes)?),
            ValueType::F64 => MetaArray::F64(self.fixed(n, what, f64::from_le_bytes)?),
            ValueType::Bool => {
                let bytes = self.take(n as u64, what)?;
                if let Some(b) = bytes.iter().find(|&&b| b > 1) {
                    return Err(WeightsError::Corrupt(format!(
                        "{} holds bool byte {b} (expected 0 or 1)",
                        what()
                    )));
                }
                MetaArray::Bool(bytes.iter().map(|&b| b == 1).collect())
            }
            ValueType::String => {
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    v.push(self.string(what)?);
                }
                MetaArray::String(v)
            }
            ValueType::Array => {
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    v.push(self.meta_array(what, depth + 1)?);
                }
                MetaArray::Array(v)
            }
        })
    }
}

fn corrupt(msg: String) -> WeightsError {
    WeightsError::Corrupt(msg)
}

pub(crate) fn parse(buf: &[u8]) -> Result<Parsed> {
    let mut c = Cursor { buf, pos: 0 };
    let header = || "the GGUF header".to_string();

    if buf.len() < 4 {
        return Err(c.truncated(header(), 4));
    }
    let magic = c.u32(&header)?;
    if magic != GGUF_MAGIC {
        return Err(WeightsError::BadMagic { found: magic });
    }
    let version = c.u32(&header)?;
    match version {
        2 | 3 => {}
        v if v & 0xFFFF == 0 && matches!(v.swap_bytes(), 2 | 3) => {
            return Err(WeightsError::BigEndian { raw: v })
        }
        v => return Err(WeightsError::UnsupportedVersion(v)),
    }
    let n_tensors = c.u64(&header)?;
    let n_kv = c.u64(&header)?;

    // Metadata.
    let n_kv = c.check_count(n_kv, MIN_KV_BYTES, &|| "the metadata key count".to_string())?;
    let mut metadata = Metadata::new();
    for i in 0..n_kv {
        let key = c.string(&|| format!("metadata key #{i}"))?;
        let what = || format!("metadata key '{key}'");
        let ty = c.value_type(&what)?;
        let value = c.value(ty, &what)?;
        if metadata.contains_key(&key) {
            return Err(corrupt(format!("metadata key '{key}' appears twice")));
        }
        metadata.insert(key, value);
    }

    let alignment = match metadata.get(KEY_ALIGNMENT) {
        None => DEFAULT_ALIGNMENT,
        Some(_) => {
            let a = metadata
                .get_u32(KEY_ALIGNMENT)
                .map_err(|e| corrupt(e.to_string()))?;
            if a == 0 || !a.is_power_of_two() {
                return Err(corrupt(format!(
                    "{KEY_ALIGNMENT} is {a}, not a power of two"
                )));
            }
            a as u64
        }
    };

    // Tensor infos.
    let n_tensors = c.check_count(n_tensors, MIN_TENSOR_INFO_BYTES, &|| {
        "the tensor count".to_string()
    })?;
    let mut raw = Vec::with_capacity(n_tensors);
    let mut index = HashMap::with_capacity(n_tensors);
    for i in 0..n_tensors {
        let name = c.string(&|| format!("tensor info #{i}"))?;
        let what = || format!("tensor info '{name}'");
        let n_dims = c.u32(&what)?;
        if n_dims as usize > MAX_DIMS {
            return Err(corrupt(format!(
                "tensor '{name}' has {n_dims} dimensions (at most {MAX_DIMS} are allowed)"
            )));
        }
        let mut shape = Vec::with_capacity(n_dims as usize);
        for _ in 0..n_dims {
            let d = c.u64(&what)?;
            let d = usize::try_from(d)
                .ok()
                .filter(|&d| d as u64 <= i64::MAX as u64)
                .ok_or_else(|| corrupt(format!("tensor '{name}' has dimension {d}, too large")))?;
            shape.push(d);
        }
        let ty_id = c.u32(&what)?;
        let ty = GgmlType::from_u32(ty_id).ok_or_else(|| WeightsError::UnknownTensorType {
            tensor: name.clone(),
            ty: ty_id,
        })?;
        let offset = c.u64(&what)?;
        if index.insert(name.clone(), i).is_some() {
            return Err(WeightsError::DuplicateTensor(name));
        }
        raw.push((name, ty, shape, offset));
    }

    let data_offset = align_up(c.pos as u64, alignment)
        .ok_or_else(|| corrupt("the data section offset overflows".to_string()))?;
    let file_size = buf.len() as u64;

    let mut tensor_infos = Vec::with_capacity(raw.len());
    for (name, ty, shape, rel) in raw {
        let n_bytes = tensor_bytes(&name, ty, &shape)?;
        if rel % alignment != 0 {
            return Err(corrupt(format!(
                "tensor '{name}' data offset {rel} is not a multiple of the alignment {alignment}"
            )));
        }
        let start = data_offset.checked_add(rel);
        let end = start.and_then(|s| s.checked_add(n_bytes as u64));
        match (start, end) {
            (Some(start), Some(end)) if end <= file_size => {
                tensor_infos.push(TensorInfo {
                    name,
                    ty,
                    shape,
                    offset: start,
                    n_bytes,
                });
            }
            (start, _) => {
                let start = start.unwrap_or(u64::MAX);
                return Err(WeightsError::Truncated {
                    what: format!("tensor '{name}'"),
                    start,
                    end: start.saturating_add(n_bytes as u64),
                    file_size,
                });
            }
        }
    }

    Ok(Parsed {
        version,
        metadata,
        tensor_infos,
        index,
        alignment,
        data_offset,
    })
}

/// Bytes of a tensor of this type and shape, with overflow and block-size checks.
pub(crate) fn tensor_bytes(name: &str, ty: GgmlType, shape: &[usize]) -> Result<usize> {
    let cols = shape.first().copied().unwrap_or(1);
    if cols % ty.block_size() != 0 {
        return Err(corrupt(format!(
            "tensor '{name}' has rows of {cols} elements, not a multiple of the {} block size {}",
            ty.name(),
            ty.block_size()
        )));
    }
    let row = crate::tensor::row_bytes(ty, cols).ok_or_else(|| overflow(name))?;
    let mut elems: u64 = 1;
    let mut bytes = row as u64;
    for (i, &d) in shape.iter().enumerate() {
        elems = elems
            .checked_mul(d as u64)
            .filter(|&e| e <= i64::MAX as u64)
            .ok_or_else(|| overflow(name))?;
        if i > 0 {
            bytes = bytes.checked_mul(d as u64).ok_or_else(|| overflow(name))?;
        }
    }
    if shape.is_empty() {
        bytes = row as u64;
    }
    usize::try_from(bytes).map_err(|_| overflow(name))
}

fn overflow(name: &str) -> WeightsError {
    corrupt(format!("tensor '{name}' shape overflows the element count"))
}

pub(crate) fn align_up(x: u64, alignment: u64) -> Option<u64> {
    let r = x % alignment;
    if r == 0 {
        Some(x)
    } else {
        x.checked_add(alignment - r)
    }
}
