//! Writes GGUF v3 files. The file appears under its final name only when complete
//! (write `<path>.tmp-<pid>` in the same directory, fsync, rename), so a crash never leaves half a model.

use std::collections::HashSet;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use kernels::GgmlType;

use super::metadata::{MetaArray, MetaValue, Metadata};
use super::reader::{align_up, tensor_bytes};
use super::{DEFAULT_ALIGNMENT, GGUF_MAGIC, KEY_ALIGNMENT, MAX_DIMS};
use crate::error::{Result, WeightsError};
use crate::tensor::Tensor;

const VERSION: u32 = 3;

/// Collects metadata and tensors, then writes them as one GGUF v3 file.
#[derive(Default)]
pub struct GgufWriter {
    metadata: Metadata,
    tensors: Vec<Tensor>,
    names: HashSet<String>,
}

impl GgufWriter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Start from existing metadata (e.g. copied from a source model).
    pub fn with_metadata(metadata: Metadata) -> Self {
        GgufWriter {
            metadata,
            ..Self::default()
        }
    }

    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    pub fn metadata_mut(&mut self) -> &mut Metadata {
        &mut self.metadata
    }

    /// Set one metadata value, e.g. `w.set("general.name", "tiny")`.
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<MetaValue>) {
        self.metadata.insert(key, value);
    }

    /// Data alignment (a power of two); stored as `general.alignment`. The default is 32.
    pub fn set_alignment(&mut self, alignment: u32) -> Result<()> {
        if alignment == 0 || !alignment.is_power_of_two() {
            return Err(WeightsError::InvalidWrite(format!(
                "alignment {alignment} is not a power of two"
            )));
        }
        self.metadata.insert(KEY_ALIGNMENT, alignment);
        Ok(())
    }

    /// Add a tensor (an mmapped view is written without copying it into memory first).
    pub fn add_tensor(&mut self, tensor: Tensor) -> Result<()> {
        let bad =
            |msg: String| WeightsError::InvalidWrite(format!("tensor '{}': {msg}", tensor.name));
        if tensor.name.is_empty() {
            return Err(WeightsError::InvalidWrite(
                "a tensor has an empty name".to_string(),
            ));
        }
        if self.names.contains(&tensor.name) {
            return Err(bad("added twice".to_string()));
        }
        if tensor.shape.is_empty() || tensor.shape.len() > MAX_DIMS {
            return Err(bad(format!(
                "shape {:?} must have 1 to {MAX_DIMS} dimensions",
                tensor.shape
            )));
        }
        let expected =
            tensor_bytes(&tensor.name, tensor.ty, &tensor.shape).map_err(|e| bad(e.to_string()))?;
        if tensor.data().len() != expected {
            return Err(bad(format!(
                "has {} bytes but {} {:?} needs {expected}",
                tensor.data().len(),
                tensor.ty.name(),
                tensor.shape
            )));
        }
        self.names.insert(tensor.name.clone());
        self.tensors.push(tensor);
        Ok(())
    }

    /// Add a tensor from bytes already in the block layout of `ty`.
    pub fn add_tensor_bytes(
        &mut self,
        name: impl Into<String>,
        ty: GgmlType,
        shape: Vec<usize>,
        bytes: Vec<u8>,
    ) -> Result<()> {
        self.add_tensor(Tensor::from_owned(name, ty, shape, bytes))
    }

    pub fn n_tensors(&self) -> usize {
        self.tensors.len()
    }

    fn alignment(&self) -> Result<u64> {
        match self.metadata.get(KEY_ALIGNMENT) {
            None => Ok(DEFAULT_ALIGNMENT),
            Some(_) => {
                let a = self
                    .metadata
                    .get_u32(KEY_ALIGNMENT)
                    .map_err(|e| WeightsError::InvalidWrite(e.to_string()))?;
                if a == 0 || !a.is_power_of_two() {
                    return Err(WeightsError::InvalidWrite(format!(
                        "{KEY_ALIGNMENT} is {a}, not a power of two"
                    )));
                }
                Ok(a as u64)
            }
        }
    }

    /// Write the whole file to `w`. Returns the number of bytes written.
    pub fn write_to<W: Write>(&self, w: &mut W) -> Result<u64> {
        let alignment = self.alignment()?;
        let mut out = Counting { inner: w, n: 0 };
        self.write_inner(&mut out, alignment)
            .map_err(|e| WeightsError::InvalidWrite(format!("I/O error: {e}")))?;
        Ok(out.n)
    }

    /// The whole file in memory (for tests and small fixtures).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut v = Vec::new();
        self.write_to(&mut v)?;
        Ok(v)
    }

    /// Write atomically to `path`: a temporary file in the same directory, fsync, then rename.
    pub fn write(&self, path: &Path) -> Result<()> {
        let alignment = self.alignment()?;
        write_atomic(path, |w| self.write_inner(w, alignment))
    }

    /// Write atomically to `path` with tensors whose bytes are produced during the write, in order:
    /// `fill(i, out)` must write exactly the bytes of `declared[i]` (name, type, shape). Only one
    /// tensor's bytes need exist at a time, so a converter never holds the whole output in memory.
    /// Tensors added with `add_tensor` are not allowed here. An error from `fill` (which may carry
    /// any error as `io::Error::other`) removes the temporary file and is returned as `Write`.
    pub fn write_streaming(
        &self,
        path: &Path,
        declared: &[(String, GgmlType, Vec<usize>)],
        fill: &mut dyn FnMut(usize, &mut dyn Write) -> std::io::Result<()>,
    ) -> Result<()> {
        if !self.tensors.is_empty() {
            return Err(WeightsError::InvalidWrite(
                "write_streaming takes every tensor from `declared`; add none with add_tensor".into(),
            ));
        }
        let alignment = self.alignment()?;
        let mut names = HashSet::new();
        let mut sizes = Vec::with_capacity(declared.len());
        for (name, ty, shape) in declared {
            if name.is_empty() || !names.insert(name.as_str()) {
                return Err(WeightsError::InvalidWrite(format!("tensor name '{name}' is empty or repeated")));
            }
            if shape.is_empty() || shape.len() > MAX_DIMS {
                return Err(WeightsError::InvalidWrite(format!("tensor '{name}': shape {shape:?} must have 1 to {MAX_DIMS} dimensions")));
            }
            let n = tensor_bytes(name, *ty, shape).map_err(|e| WeightsError::InvalidWrite(e.to_string()))?;
            sizes.push(n as u64);
        }
        write_atomic(path, |w| {
            let layouts = declared.iter().zip(&sizes).map(|((n, t, s), &b)| (n.as_str(), *t, s.as_slice(), b));
            self.write_header(w, layouts, alignment)?;
            for (i, &expected) in sizes.iter().enumerate() {
                let start = w.n;
                fill(i, w)?;
                if w.n - start != expected {
                    return Err(std::io::Error::other(format!(
                        "tensor '{}': {} bytes were written but its type and shape need {expected}",
                        declared[i].0,
                        w.n - start
                    )));
                }
                pad(w, alignment)?;
            }
            w.flush()
        })
    }

    fn write_inner<W: Write>(&self, w: &mut Counting<W>, alignment: u64) -> std::io::Result<()> {
        let layouts = self.tensors.iter().map(|t| (t.name.as_str(), t.ty, t.shape.as_slice(), t.data().len() as u64));
        self.write_header(w, layouts, alignment)?;
        for t in &self.tensors {
            w.write_all(t.data())?;
            pad(w, alignment)?;
        }
        w.flush()
    }

    /// Header, metadata and tensor infos (name, type, shape, data bytes), padded to the data section.
    fn write_header<'t, W: Write>(
        &self,
        w: &mut Counting<W>,
        tensors: impl ExactSizeIterator<Item = (&'t str, GgmlType, &'t [usize], u64)>,
        alignment: u64,
    ) -> std::io::Result<()> {
        w.write_all(&GGUF_MAGIC.to_le_bytes())?;
        w.write_all(&VERSION.to_le_bytes())?;
        w.write_all(&(tensors.len() as u64).to_le_bytes())?;
        w.write_all(&(self.metadata.len() as u64).to_le_bytes())?;
        for (key, value) in self.metadata.iter() {
            write_str(w, key)?;
            w.write_all(&(value.value_type() as u32).to_le_bytes())?;
            write_value(w, value)?;
        }
        // Offsets are relative to the data section; every tensor starts aligned.
        let mut offset = 0u64;
        for (name, ty, shape, n_bytes) in tensors {
            write_str(w, name)?;
            w.write_all(&(shape.len() as u32).to_le_bytes())?;
            for &d in shape {
                w.write_all(&(d as u64).to_le_bytes())?;
            }
            w.write_all(&(ty as u32).to_le_bytes())?;
            w.write_all(&offset.to_le_bytes())?;
            offset = align_up(offset + n_bytes, alignment).ok_or_else(too_big)?;
        }
        pad(w, alignment)
    }
}

/// Runs `body` on a buffered temp file beside `path`, fsyncs it and renames it over `path`;
/// on any error the temp file is removed and nothing appears at `path`.
pub(crate) fn write_atomic(
    path: &Path,
    body: impl FnOnce(&mut Counting<&mut BufWriter<std::fs::File>>) -> std::io::Result<()>,
) -> Result<()> {
    let tmp = tmp_path(path);
    let result = (|| -> std::io::Result<()> {
        let file = std::fs::File::create(&tmp)?;
        let mut bw = BufWriter::with_capacity(1 << 20, file);
        body(&mut Counting { inner: &mut bw, n: 0 })?;
        let file = bw.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)?;
        // Persist the rename itself; not every platform can fsync a directory, so this is best effort.
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(|source| WeightsError::Write { path: path.to_path_buf(), source })
}

fn too_big() -> std::io::Error {
    std::io::Error::other("tensor offsets overflow u64")
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(format!(".tmp-{}", std::process::id()));
    path.with_file_name(name)
}

/// Counts bytes so padding can be computed without seeking.
pub(crate) struct Counting<W> {
    inner: W,
    n: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let k = self.inner.write(buf)?;
        self.n += k as u64;
        Ok(k)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn pad<W: Write>(w: &mut Counting<W>, alignment: u64) -> std::io::Result<()> {
    let target = align_up(w.n, alignment).ok_or_else(too_big)?;
    let zeros = [0u8; 64];
    let mut left = target - w.n;
    while left > 0 {
        let k = left.min(zeros.len() as u64) as usize;
        w.write_all(&zeros[..k])?;
        left -= k as u64;
    }
    Ok(())
}

fn write_str<W: Write>(w: &mut W, s: &str) -> std::io::Result<()> {
    w.write_all(&(s.len() as u64).to_le_bytes())?;
    w.write_all(s.as_bytes())
}

fn write_value<W: Write>(w: &mut W, v: &MetaValue) -> std::io::Result<()> {
    match v {
        MetaValue::U8(x) => w.write_all(&[*x]),
        MetaValue::I8(x) => w.write_all(&x.to_le_bytes()),
        MetaValue::U16(x) => w.write_all(&x.to_le_bytes()),
        MetaValue::I16(x) => w.write_all(&x.to_le_bytes()),
        MetaValue::U32(x) => w.write_all(&x.to_le_bytes()),
        MetaValue::I32(x) => w.write_all(&x.to_le_bytes()),
        MetaValue::F32(x) => w.write_all(&x.to_le_bytes()),
        MetaValue::Bool(x) => w.write_all(&[*x as u8]),
        MetaValue::String(s) => write_str(w, s),
        MetaValue::Array(a) => write_array(w, a),
        MetaValue::U64(x) => w.write_all(&x.to_le_bytes()),
        MetaValue::I64(x) => w.write_all(&x.to_le_bytes()),
        MetaValue::F64(x) => w.write_all(&x.to_le_bytes()),
    }
}

fn write_array<W: Write>(w: &mut W, a: &MetaArray) -> std::io::Result<()> {
    w.write_all(&(a.element_type() as u32).to_le_bytes())?;
    w.write_all(&(a.len() as u64).to_le_bytes())?;
    macro_rules! each {
        ($v:expr) => {{
            for x in $v {
                w.write_all(&x.to_le_bytes())?;
            }
            Ok(())
        }};
    }
    match a {
        MetaArray::U8(v) => w.write_all(v),
        MetaArray::I8(v) => each!(v),
        MetaArray::U16(v) => each!(v),
        MetaArray::I16(v) => each!(v),
        MetaArray::U32(v) => each!(v),
        MetaArray::I32(v) => each!(v),
        MetaArray::F32(v) => each!(v),
        MetaArray::Bool(v) => each!(v.iter().map(|&b| b as u8)),
        MetaArray::String(v) => {
            for s in v {
                write_str(w, s)?;
            }
            Ok(())
        }
        MetaArray::Array(v) => {
            for inner in v {
                write_array(w, inner)?;
            }
            Ok(())
        }
        MetaArray::U64(v) => each!(v),
        MetaArray::I64(v) => each!(v),
        MetaArray::F64(v) => each!(v),
    }
}
