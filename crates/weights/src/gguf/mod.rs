//! GGUF files (versions 2 and 3): read with zero-copy tensor views over an mmap, and write atomically.
//! Layout: header (magic, version, counts) | metadata key/values | tensor infos | padding | aligned data.

mod metadata;
mod reader;
mod writer;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use kernels::GgmlType;

use crate::error::{Result, WeightsError};
use crate::tensor::{Backing, Tensor, TensorData};

pub use metadata::{MetaArray, MetaValue, Metadata, ValueType};
pub use writer::GgufWriter;
pub(crate) use writer::write_atomic;

/// "GGUF" read as a little-endian u32.
pub const GGUF_MAGIC: u32 = u32::from_le_bytes(*b"GGUF");
pub const DEFAULT_ALIGNMENT: u64 = 32;
pub const KEY_ALIGNMENT: &str = "general.alignment";
/// ggml tensors have at most four dimensions.
pub const MAX_DIMS: usize = 4;

/// Where one tensor lives in the file.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorInfo {
    pub name: String,
    pub ty: GgmlType,
    pub shape: Vec<usize>, // ggml order: shape[0] = row length (ne0)
    pub offset: u64,       // absolute byte offset in the file
    pub n_bytes: usize,
}

/// An opened GGUF file. Tensors borrow the mapped file; cloning them is cheap.
pub struct GgufFile {
    version: u32,
    metadata: Metadata,
    tensor_infos: Vec<TensorInfo>,
    index: HashMap<String, usize>,
    alignment: u64,
    data_offset: u64,
    backing: Arc<Backing>,
    source_name: String,
}

impl GgufFile {
    /// Map the file and parse its header. Tensor data is not read until used.
    pub fn open(path: &Path) -> Result<GgufFile> {
        let backing = Backing::map_file(path)?;
        Self::from_backing(Arc::new(backing), path.display().to_string())
    }

    /// Like `open`, but reads the whole file into huge-page-backed memory first (see
    /// `Backing::read_resident`): for running a model, where every weight is streamed each token.
    pub fn open_resident(path: &Path) -> Result<GgufFile> {
        let backing = Backing::read_resident(path)?;
        Self::from_backing(Arc::new(backing), path.display().to_string())
    }

    /// Parse a GGUF held in memory (same parser as `open`; used by tests and fuzzing).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<GgufFile> {
        Self::from_backing(
            Arc::new(Backing::Owned(bytes)),
            "<in-memory GGUF>".to_string(),
        )
    }

    fn from_backing(backing: Arc<Backing>, source_name: String) -> Result<GgufFile> {
        let p = reader::parse(backing.bytes())?;
        Ok(GgufFile {
            version: p.version,
            metadata: p.metadata,
            tensor_infos: p.tensor_infos,
            index: p.index,
            alignment: p.alignment,
            data_offset: p.data_offset,
            backing,
            source_name,
        })
    }

    pub fn version(&self) -> u32 {
        self.version
    }

    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// Tensor infos in file order.
    pub fn tensor_infos(&self) -> &[TensorInfo] {
        &self.tensor_infos
    }

    pub fn tensor_info(&self, name: &str) -> Option<&TensorInfo> {
        self.index.get(name).map(|&i| &self.tensor_infos[i])
    }

    pub fn contains_tensor(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// A zero-copy view of one tensor.
    pub fn tensor(&self, name: &str) -> Result<Tensor> {
        let info = self
            .tensor_info(name)
            .ok_or_else(|| WeightsError::TensorNotFound {
                name: name.to_string(),
                source_name: self.source_name.clone(),
            })?;
        Ok(self.view(info))
    }

    /// Every tensor, in file order.
    pub fn tensors(&self) -> impl Iterator<Item = Tensor> + '_ {
        self.tensor_infos.iter().map(|info| self.view(info))
    }

    fn view(&self, info: &TensorInfo) -> Tensor {
        // The parser checked offset + n_bytes <= file size, so these conversions cannot fail.
        let start = info.offset as usize;
        let data = TensorData::new(self.backing.clone(), start..start + info.n_bytes);
        Tensor::new(info.name.clone(), info.ty, info.shape.clone(), data)
    }

    pub fn file_size(&self) -> u64 {
        self.backing.bytes().len() as u64
    }

    pub fn alignment(&self) -> u64 {
        self.alignment
    }

    /// Absolute offset of the tensor data section.
    pub fn data_offset(&self) -> u64 {
        self.data_offset
    }

    /// The path it was opened from, or "<in-memory GGUF>".
    pub fn source_name(&self) -> &str {
        &self.source_name
    }
}

impl std::fmt::Debug for GgufFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GgufFile")
            .field("source", &self.source_name)
            .field("version", &self.version)
            .field("n_kv", &self.metadata.len())
            .field("n_tensors", &self.tensor_infos.len())
            .finish()
    }
}
