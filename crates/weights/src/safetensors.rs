//! One `.safetensors` file, mmapped. Tensors come out as zero-copy `Tensor` views with ggml-order shapes:
//! a row-major HF tensor of shape [out, in] is the ggml tensor [in, out] (same bytes, dims reversed).

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kernels::GgmlType;
use safetensors::{Dtype, SafeTensors};

use crate::error::{Result, WeightsError};
use crate::tensor::{Backing, Tensor, TensorData};

struct Entry {
    dtype: Dtype,
    shape: Vec<usize>,   // HF (row-major) order: [out, in]
    range: Range<usize>, // absolute bytes in the file
}

pub struct SafetensorsFile {
    path: PathBuf,
    backing: Arc<Backing>,
    entries: HashMap<String, Entry>,
    names: Vec<String>, // sorted, for a stable listing
}

impl SafetensorsFile {
    pub fn open(path: &Path) -> Result<Self> {
        let backing = Backing::map_file(path)?;
        Self::from_backing(Arc::new(backing), path.to_path_buf())
    }

    /// Parse a safetensors file held in memory.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self> {
        Self::from_backing(
            Arc::new(Backing::Owned(bytes)),
            PathBuf::from("<in-memory safetensors>"),
        )
    }

    fn from_backing(backing: Arc<Backing>, path: PathBuf) -> Result<Self> {
        let bytes = backing.bytes();
        // read_metadata checks the header length, the JSON, and that the offsets tile the data exactly.
        let (header_len, meta) =
            SafeTensors::read_metadata(bytes).map_err(|e| WeightsError::Safetensors {
                path: path.clone(),
                msg: format!("{e:?}"),
            })?;
        let data_start = 8 + header_len;
        let mut entries = HashMap::new();
        for (name, info) in meta.tensors() {
            let (s, e) = info.data_offsets;
            let range = data_start.checked_add(s).zip(data_start.checked_add(e));
            let range = match range {
                Some((s, e)) if s <= e && e <= bytes.len() => s..e,
                _ => {
                    return Err(WeightsError::Safetensors {
                        path,
                        msg: format!("tensor '{name}' data {s}..{e} lies outside the file"),
                    })
                }
            };
            entries.insert(
                name,
                Entry {
                    dtype: info.dtype,
                    shape: info.shape.clone(),
                    range,
                },
            );
        }
        let mut names: Vec<String> = entries.keys().cloned().collect();
        names.sort();
        Ok(SafetensorsFile {
            path,
            backing,
            entries,
            names,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Tensor names as stored (HF names), sorted.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn contains(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }

    /// The shape as stored (row-major, HF order).
    pub fn hf_shape(&self, name: &str) -> Option<&[usize]> {
        self.entries.get(name).map(|e| e.shape.as_slice())
    }

    /// The stored dtype's name ("BF16", "I64"...).
    pub fn dtype_name(&self, name: &str) -> Option<String> {
        self.entries.get(name).map(|e| format!("{:?}", e.dtype))
    }

    /// A zero-copy view named as stored, with ggml-order shape.
    pub fn tensor(&self, name: &str) -> Result<Tensor> {
        let e = self
            .entries
            .get(name)
            .ok_or_else(|| WeightsError::TensorNotFound {
                name: name.to_string(),
                source_name: self.path.display().to_string(),
            })?;
        let ty = match e.dtype {
            Dtype::F32 => GgmlType::F32,
            Dtype::F16 => GgmlType::F16,
            Dtype::BF16 => GgmlType::BF16,
            other => {
                return Err(WeightsError::UnsupportedDtype {
                    tensor: name.to_string(),
                    dtype: format!("{other:?}"),
                })
            }
        };
        let mut shape: Vec<usize> = e.shape.iter().rev().copied().collect();
        if shape.is_empty() {
            shape.push(1); // a scalar is a one-element ggml tensor
        }
        let data = TensorData::new(self.backing.clone(), e.range.clone());
        Ok(Tensor::new(name.to_string(), ty, shape, data))
    }
}
