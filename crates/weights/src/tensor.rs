//! A named, typed view of tensor bytes: borrowed from an mmapped (or resident) file, or owned when built in memory.

use std::ops::Range;
use std::sync::Arc;

use kernels::GgmlType;

/// Where tensor bytes live. Shared by every tensor of one file, so cloning a tensor never copies data.
pub(crate) enum Backing {
    Mmap(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl Backing {
    /// Maps a file read-only (an empty file becomes an empty buffer: it cannot be mapped everywhere).
    pub(crate) fn map_file(path: &std::path::Path) -> crate::error::Result<Backing> {
        let io = |source| crate::WeightsError::Io { path: path.to_path_buf(), source };
        let file = std::fs::File::open(path).map_err(io)?;
        if file.metadata().map_err(io)?.len() == 0 {
            return Ok(Backing::Owned(Vec::new()));
        }
        // SAFETY: the map is read-only. Like every mmap loader, we rely on the file not being
        // truncated or rewritten while it is open (our writers replace files by rename).
        Ok(Backing::Mmap(unsafe { memmap2::Mmap::map(&file) }.map_err(io)?))
    }

    /// Reads a whole file into anonymous memory backed by transparent huge pages where the kernel
    /// offers them. Decode streams every weight once per token, and with 4 KiB file pages the CPU's
    /// prefetchers stop at each page edge: resident huge pages decode ~15% faster than a file map
    /// (`agora bench`, Gemma 3 270M). Several threads read disjoint ranges, so faulting and zeroing the
    /// pages is shared out too.
    pub(crate) fn read_resident(path: &std::path::Path) -> crate::error::Result<Backing> {
        use std::os::unix::fs::FileExt;
        let io = |source| crate::WeightsError::Io { path: path.to_path_buf(), source };
        let file = std::fs::File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len() as usize;
        if len == 0 {
            return Ok(Backing::Owned(Vec::new()));
        }
        let mut map = memmap2::MmapOptions::new().len(len).map_anon().map_err(io)?;
        // Best effort: without THP the copy still works, just with small pages.
        #[cfg(target_os = "linux")]
        let _ = map.advise(memmap2::Advice::HugePage);
        const HUGE: usize = 2 << 20;
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(4);
        let part = len.div_ceil(threads).next_multiple_of(HUGE);
        let file = &file;
        std::thread::scope(|s| {
            let jobs: Vec<_> = map
                .chunks_mut(part)
                .enumerate()
                .map(|(i, dst)| s.spawn(move || file.read_exact_at(dst, (i * part) as u64)))
                .collect();
            jobs.into_iter().try_for_each(|j| j.join().unwrap_or_else(|_| Err(std::io::Error::other("reader thread panicked"))))
        })
        .map_err(io)?;
        Ok(Backing::Mmap(map.make_read_only().map_err(io)?))
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            Backing::Mmap(m) => m,
            Backing::Owned(v) => v,
        }
    }
}

/// A byte range of a shared backing.
#[derive(Clone)]
pub(crate) struct TensorData {
    backing: Arc<Backing>,
    range: Range<usize>,
}

impl TensorData {
    /// `range` must lie inside `backing`; callers check this before building a view.
    pub(crate) fn new(backing: Arc<Backing>, range: Range<usize>) -> Self {
        debug_assert!(range.start <= range.end && range.end <= backing.bytes().len());
        TensorData { backing, range }
    }

    fn bytes(&self) -> &[u8] {
        // Out-of-range views are prevented at construction; the empty fallback keeps this panic-free.
        self.backing.bytes().get(self.range.clone()).unwrap_or(&[])
    }
}

/// One tensor. `shape` is in ggml order: `shape[0]` is the row length (ne0), the contiguous dimension.
#[derive(Clone)]
pub struct Tensor {
    pub name: String,
    pub ty: GgmlType,
    pub shape: Vec<usize>, // [ne0, ne1, ...]
    data: TensorData,
}

impl Tensor {
    pub(crate) fn new(name: String, ty: GgmlType, shape: Vec<usize>, data: TensorData) -> Self {
        Tensor {
            name,
            ty,
            shape,
            data,
        }
    }

    /// A tensor whose bytes live in memory (built by a converter, a quantizer or a test).
    /// The byte length is not checked here; the GGUF writer checks it against `ty` and `shape`.
    pub fn from_owned(
        name: impl Into<String>,
        ty: GgmlType,
        shape: Vec<usize>,
        bytes: Vec<u8>,
    ) -> Self {
        let len = bytes.len();
        let data = TensorData::new(Arc::new(Backing::Owned(bytes)), 0..len);
        Tensor {
            name: name.into(),
            ty,
            shape,
            data,
        }
    }

    /// The raw bytes, in the block layout of `ty`.
    pub fn data(&self) -> &[u8] {
        self.data.bytes()
    }

    pub fn n_elements(&self) -> usize {
        // Saturating: a hand-built tensor may carry any shape; parsed ones are checked to fit.
        self.shape.iter().fold(1usize, |a, &d| a.saturating_mul(d))
    }

    /// Elements per row (ne0).
    pub fn cols(&self) -> usize {
        self.shape.first().copied().unwrap_or(1)
    }

    /// Number of rows: the product of every dimension after the first.
    pub fn rows(&self) -> usize {
        self.shape
            .iter()
            .skip(1)
            .fold(1usize, |a, &d| a.saturating_mul(d))
    }

    /// Bytes of one row, or None when a row is not a whole number of blocks of `ty`.
    pub fn row_bytes(&self) -> Option<usize> {
        row_bytes(self.ty, self.cols())
    }

    /// Rows `start..end` of a 2-D tensor as a new tensor sharing the same bytes (the q, k and v
    /// parts of a fused qkv weight). None when the range or the row size does not fit.
    pub fn row_range(&self, name: impl Into<String>, start: usize, end: usize) -> Option<Tensor> {
        if self.shape.len() != 2 || start > end || end > self.shape[1] {
            return None;
        }
        let rb = self.row_bytes()?;
        let (a, b) = (start.checked_mul(rb)?, end.checked_mul(rb)?);
        if b > self.data().len() {
            return None;
        }
        let base = self.data.range.start;
        let data = TensorData::new(self.data.backing.clone(), base + a..base + b);
        Some(Tensor::new(name.into(), self.ty, vec![self.shape[0], end - start], data))
    }

    /// Matrix `i` of a 3-D tensor `[cols, rows, n]` as a 2-D tensor `[cols, rows]` sharing its bytes
    /// (one expert of a stacked MoE weight). None when out of range.
    pub fn matrix(&self, name: impl Into<String>, i: usize) -> Option<Tensor> {
        if self.shape.len() != 3 || i >= self.shape[2] {
            return None;
        }
        let rows = self.shape[1];
        let flat = Tensor { shape: vec![self.shape[0], rows * self.shape[2]], ..self.clone() };
        flat.row_range(name, i * rows, (i + 1) * rows)
    }

    /// The bytes of row `i` (e.g. one token's embedding), or None when out of range.
    pub fn row(&self, i: usize) -> Option<&[u8]> {
        let rb = self.row_bytes()?;
        let start = i.checked_mul(rb)?;
        self.data().get(start..start.checked_add(rb)?)
    }
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tensor")
            .field("name", &self.name)
            .field("ty", &self.ty)
            .field("shape", &self.shape)
            .field("n_bytes", &self.data().len())
            .finish()
    }
}

/// Bytes of a row of `n` elements: None when `n` is not a whole number of blocks or the size overflows.
/// (Not `GgmlType::row_bytes`, whose multiplication can overflow on hostile lengths.)
pub(crate) fn row_bytes(ty: GgmlType, n: usize) -> Option<usize> {
    let bs = ty.block_size();
    if n % bs != 0 {
        return None;
    }
    (n / bs).checked_mul(ty.type_size())
}
