//! GGUF writer -> reader round trips, the Python `gguf` reference reading our files, and hand-made bad headers.

mod common;


use weights::{GgmlType, GgufFile, GgufWriter, MetaArray, MetaValue, WeightsError};

/// Deterministic filler bytes (tensor contents are opaque to the reader).
fn bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut rng = common::Rng(seed | 1);
    (0..n).map(|_| rng.next_u64() as u8).collect()
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Every metadata type, nested arrays, and tensors of several types and ranks.
fn sample_writer() -> GgufWriter {
    let mut w = GgufWriter::new();
    w.set("general.architecture", "tiny");
    w.set("t.u8", 200u8);
    w.set("t.i8", -5i8);
    w.set("t.u16", 60000u16);
    w.set("t.i16", -300i16);
    w.set("t.u32", 4_000_000_000u32);
    w.set("t.i32", -7i32);
    w.set("t.f32", 1.5f32);
    w.set("t.bool", true);
    w.set("t.string", "héllo, wörld");
    w.set("t.u64", 1u64 << 50);
    w.set("t.i64", -(1i64 << 40));
    w.set("t.f64", 0.1f64);
    w.set("a.u8", vec![1u8, 2, 255]);
    w.set("a.i8", vec![-1i8, 0, 127]);
    w.set("a.u16", vec![1u16, 65535]);
    w.set("a.i16", vec![-32768i16, 5]);
    w.set("a.u32", vec![7u32, 8, 9]);
    w.set("a.i32", vec![-1i32, 2, -3]);
    w.set("a.f32", vec![0.5f32, -2.25, 1e-6]);
    w.set("a.bool", vec![true, false, true]);
    w.set("a.string", vec!["a", "", "<0x0A>", "▁the"]);
    w.set("a.u64", vec![u64::MAX, 0]);
    w.set("a.i64", vec![i64::MIN, 1]);
    w.set("a.f64", vec![1.0f64, -0.25]);
    w.set("a.empty", Vec::<u32>::new());
    w.set(
        "a.nested",
        MetaArray::Array(vec![MetaArray::I32(vec![1, 2]), MetaArray::I32(vec![3])]),
    );
    w.set(
        "a.nested_str",
        MetaArray::Array(vec![
            MetaArray::String(vec!["x".into()]),
            MetaArray::String(vec!["y".into(), "z".into()]),
        ]),
    );
    w.add_tensor_bytes(
        "f32.2d",
        GgmlType::F32,
        vec![4, 3],
        f32_bytes(&(0..12).map(|i| i as f32 * 0.5).collect::<Vec<_>>()),
    )
    .unwrap();
    w.add_tensor_bytes("f16.2d", GgmlType::F16, vec![8, 2], bytes(32, 1))
        .unwrap();
    w.add_tensor_bytes("bf16.1d", GgmlType::BF16, vec![3], bytes(6, 2))
        .unwrap();
    w.add_tensor_bytes("q8_0", GgmlType::Q8_0, vec![64, 2], bytes(4 * 34, 3))
        .unwrap();
    w.add_tensor_bytes("q5_0", GgmlType::Q5_0, vec![32, 3], bytes(3 * 22, 4))
        .unwrap();
    w.add_tensor_bytes("q4_k", GgmlType::Q4K, vec![256, 1], bytes(144, 5))
        .unwrap();
    w.add_tensor_bytes("q6_k", GgmlType::Q6K, vec![256, 2], bytes(2 * 210, 6))
        .unwrap();
    w.add_tensor_bytes(
        "f32.3d",
        GgmlType::F32,
        vec![2, 3, 4],
        bytes(2 * 3 * 4 * 4, 7),
    )
    .unwrap();
    w.add_tensor_bytes("f32.4d", GgmlType::F32, vec![1, 2, 1, 2], bytes(16, 8))
        .unwrap();
    w
}

fn assert_same(w: &GgufWriter, f: &GgufFile) {
    assert_eq!(f.version(), 3);
    assert_eq!(f.metadata(), w.metadata());
    assert_eq!(f.tensor_infos().len(), w.n_tensors());
    let written = GgufFile::from_bytes(w.to_bytes().unwrap()).unwrap();
    for (info, orig) in f.tensor_infos().iter().zip(written.tensor_infos()) {
        assert_eq!(info.name, orig.name);
        let t = f.tensor(&info.name).unwrap();
        assert_eq!((t.ty, &t.shape), (orig.ty, &orig.shape));
        assert_eq!(t.data(), written.tensor(&info.name).unwrap().data());
        assert_eq!(t.data().len(), info.n_bytes);
        assert_eq!(
            info.offset % f.alignment(),
            0,
            "{} is not aligned",
            info.name
        );
    }
}

#[test]
fn write_then_read_back_identical() {
    let w = sample_writer();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny.gguf");
    w.write(&path).unwrap();
    let f = GgufFile::open(&path).unwrap();
    assert_same(&w, &f);
    assert_eq!(f.file_size(), std::fs::metadata(&path).unwrap().len());

    // Spot-check values and views, independently of PartialEq.
    let m = f.metadata();
    assert_eq!(m.get_str("t.string").unwrap(), "héllo, wörld");
    assert_eq!(m.get_u64("t.u64").unwrap(), 1 << 50);
    assert_eq!(m.get_f32("t.f32").unwrap(), 1.5);
    assert_eq!(m.get_str_array("a.string").unwrap()[3], "▁the");
    assert_eq!(
        m.get("a.nested"),
        Some(&MetaValue::Array(MetaArray::Array(vec![
            MetaArray::I32(vec![1, 2]),
            MetaArray::I32(vec![3])
        ])))
    );
    let t = f.tensor("f32.2d").unwrap();
    assert_eq!((t.cols(), t.rows(), t.n_elements()), (4, 3, 12));
    assert_eq!(t.row(1).unwrap(), &f32_bytes(&[2.0, 2.5, 3.0, 3.5])[..]);
    assert!(t.row(3).is_none());
    let q = f.tensor("q8_0").unwrap();
    assert_eq!((q.cols(), q.rows(), q.row_bytes()), (64, 2, Some(68)));
    // Views are cheap clones of one mapping.
    let q2 = q.clone();
    assert_eq!(q2.data().as_ptr(), q.data().as_ptr());

    // Nothing but the final file is left in the directory.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("tiny.gguf")]);
}

#[test]
fn rewriting_a_read_file_reproduces_it_byte_for_byte() {
    let first = sample_writer().to_bytes().unwrap();
    let f = GgufFile::from_bytes(first.clone()).unwrap();
    let mut w = GgufWriter::with_metadata(f.metadata().clone());
    for t in f.tensors() {
        w.add_tensor(t).unwrap();
    }
    assert_eq!(w.to_bytes().unwrap(), first);
}

#[test]
fn custom_alignment_is_honoured() {
    let mut w = sample_writer();
    w.set_alignment(64).unwrap();
    let f = GgufFile::from_bytes(w.to_bytes().unwrap()).unwrap();
    assert_eq!(f.alignment(), 64);
    assert_eq!(f.data_offset() % 64, 0);
    for info in f.tensor_infos() {
        assert_eq!(info.offset % 64, 0);
    }
    assert_same(&w, &f);
    assert!(w.set_alignment(48).is_err());
}

#[test]
fn write_replaces_existing_file_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.gguf");
    std::fs::write(&path, b"old").unwrap();
    let w = sample_writer();
    w.write(&path).unwrap();
    assert_same(&w, &GgufFile::open(&path).unwrap());
    // A directory that does not exist: an error naming the path, no file created.
    let bad = dir.path().join("missing/m.gguf");
    let e = w.write(&bad).unwrap_err().to_string();
    assert!(e.contains("missing/m.gguf"), "{e}");
}

#[test]
fn writer_rejects_inconsistent_tensors() {
    let mut w = GgufWriter::new();
    let e = w
        .add_tensor_bytes("x", GgmlType::Q8_0, vec![64, 2], vec![0; 67])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("'x'") && e.contains("67") && e.contains("136"),
        "{e}"
    );
    let e = w
        .add_tensor_bytes("k", GgmlType::Q4K, vec![100], vec![0; 144])
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a multiple"), "{e}");
    assert!(w
        .add_tensor_bytes("s", GgmlType::F32, vec![], vec![])
        .is_err());
    assert!(w
        .add_tensor_bytes("five", GgmlType::F32, vec![1, 1, 1, 1, 1], vec![0; 4])
        .is_err());
    w.add_tensor_bytes("a", GgmlType::F32, vec![1], vec![0; 4])
        .unwrap();
    let e = w
        .add_tensor_bytes("a", GgmlType::F32, vec![1], vec![0; 4])
        .unwrap_err()
        .to_string();
    assert!(e.contains("twice"), "{e}");
    w.set("general.alignment", "32");
    assert!(w.to_bytes().is_err(), "a string alignment must be refused");
}

#[test]
fn missing_tensor_error_names_it() {
    let f = GgufFile::from_bytes(sample_writer().to_bytes().unwrap()).unwrap();
    let e = f.tensor("blk.99.attn_q.weight").unwrap_err();
    assert!(matches!(e, WeightsError::TensorNotFound { .. }));
    assert!(e.to_string().contains("'blk.99.attn_q.weight'"), "{e}");
}

#[test]
fn version_2_files_are_read() {
    let mut b = sample_writer().to_bytes().unwrap();
    b[4..8].copy_from_slice(&2u32.to_le_bytes());
    let f = GgufFile::from_bytes(b).unwrap();
    assert_eq!(f.version(), 2);
    assert_eq!(f.tensor_infos().len(), 9);
}

/// The reference Python reader must see exactly what we wrote.
#[test]
fn python_gguf_reader_reads_our_file() {
    let w = sample_writer();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("py.gguf");
    w.write(&path).unwrap();
    let out = common::python_script("gguf_dump.py", &[path.as_os_str()]);
    let dump: serde_json::Value = serde_json::from_str(&out).expect("gguf_dump.py printed JSON");

    let fields = dump["fields"].as_object().unwrap();
    assert_eq!(
        fields.len(),
        w.metadata().len(),
        "key sets differ: {:?}",
        fields.keys().collect::<Vec<_>>()
    );
    for (key, value) in w.metadata().iter() {
        let field = fields
            .get(key)
            .unwrap_or_else(|| panic!("python did not see key {key}"));
        let types: Vec<&str> = field["types"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        assert_eq!(types[0], py_type(value), "type of {key}");
        if let MetaValue::Array(a) = value {
            match a {
                MetaArray::Array(v) => {
                    assert_eq!(types[1], "ARRAY", "element type of {key}");
                    assert_eq!(
                        types[2],
                        py_array_type(&v[0]),
                        "inner element type of {key}"
                    );
                }
                a if !a.is_empty() => {
                    assert_eq!(types[1], py_array_type(a), "element type of {key}")
                }
                _ => {}
            }
        }
        assert_json_eq(&field["value"], value, key);
    }

    let tensors = dump["tensors"].as_array().unwrap();
    let f = GgufFile::open(&path).unwrap();
    assert_eq!(tensors.len(), f.tensor_infos().len());
    for (py, info) in tensors.iter().zip(f.tensor_infos()) {
        assert_eq!(py["name"], info.name.as_str());
        assert_eq!(py["type"], info.ty.name(), "type of {}", info.name);
        let shape: Vec<usize> = py["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(shape, info.shape, "shape of {}", info.name);
        assert_eq!(py["n_bytes"].as_u64().unwrap() as usize, info.n_bytes);
        let data = f.tensor(&info.name).unwrap();
        assert_eq!(
            py["hex"].as_str().unwrap(),
            hex(data.data()),
            "data of {}",
            info.name
        );
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn py_type(v: &MetaValue) -> &'static str {
    match v {
        MetaValue::Array(_) => "ARRAY",
        v => py_scalar(v.value_type()),
    }
}

fn py_array_type(a: &MetaArray) -> &'static str {
    py_scalar(a.element_type())
}

fn py_scalar(t: weights::ValueType) -> &'static str {
    use weights::ValueType::*;
    match t {
        U8 => "UINT8",
        I8 => "INT8",
        U16 => "UINT16",
        I16 => "INT16",
        U32 => "UINT32",
        I32 => "INT32",
        F32 => "FLOAT32",
        Bool => "BOOL",
        String => "STRING",
        Array => "ARRAY",
        U64 => "UINT64",
        I64 => "INT64",
        F64 => "FLOAT64",
    }
}

fn assert_json_eq(py: &serde_json::Value, v: &MetaValue, key: &str) {
    use serde_json::Value as J;
    let num = |x: f64| {
        let p = py
            .as_f64()
            .unwrap_or_else(|| panic!("{key}: python gave {py}"));
        assert!((p - x).abs() <= x.abs() * 1e-15, "{key}: python {p} vs {x}");
    };
    match v {
        MetaValue::F32(x) => num(*x as f64),
        MetaValue::F64(x) => num(*x),
        MetaValue::Bool(b) => assert_eq!(py, &J::Bool(*b), "{key}"),
        MetaValue::String(s) => assert_eq!(py, &J::String(s.clone()), "{key}"),
        MetaValue::Array(a) => assert_array_eq(py, a, key),
        v => assert_eq!(
            py.as_i64().map(i128::from).or(py.as_u64().map(i128::from)),
            v.as_int(),
            "{key}"
        ),
    }
}

/// The leaves of a (nested) array, in order.
fn flatten(a: &MetaArray) -> Vec<MetaValue> {
    match a {
        MetaArray::Array(v) => v.iter().flat_map(flatten).collect(),
        MetaArray::I32(v) => v.iter().map(|&x| x.into()).collect(),
        MetaArray::String(v) => v.iter().map(|x| x.clone().into()).collect(),
        other => panic!("flatten: add {} to the test", other.type_name()),
    }
}

fn assert_array_eq(py: &serde_json::Value, a: &MetaArray, key: &str) {
    let items = py
        .as_array()
        .unwrap_or_else(|| panic!("{key}: python gave {py}, not a list"));
    // gguf-py's contents() flattens nested arrays into one list of leaves.
    let n_leaves = if let MetaArray::Array(_) = a {
        flatten(a).len()
    } else {
        a.len()
    };
    assert_eq!(items.len(), n_leaves, "{key}: length");
    let scalars: Vec<MetaValue> = match a {
        MetaArray::U8(v) => v.iter().map(|&x| x.into()).collect(),
        MetaArray::I8(v) => v.iter().map(|&x| x.into()).collect(),
        MetaArray::U16(v) => v.iter().map(|&x| x.into()).collect(),
        MetaArray::I16(v) => v.iter().map(|&x| x.into()).collect(),
        MetaArray::U32(v) => v.iter().map(|&x| x.into()).collect(),
        MetaArray::I32(v) => v.iter().map(|&x| x.into()).collect(),
        MetaArray::F32(v) => v.iter().map(|&x| x.into()).collect(),
        MetaArray::Bool(v) => v.iter().map(|&x| x.into()).collect(),
        MetaArray::String(v) => v.iter().map(|x| x.clone().into()).collect(),
        MetaArray::U64(v) => v.iter().map(|&x| x.into()).collect(),
        MetaArray::I64(v) => v.iter().map(|&x| x.into()).collect(),
        MetaArray::F64(v) => v.iter().map(|&x| x.into()).collect(),
        MetaArray::Array(_) => flatten(a),
    };
    for (p, s) in items.iter().zip(&scalars) {
        assert_json_eq(p, s, key);
    }
}

// ---- hand-made bad headers ----

/// Little-endian byte builder for GGUF headers.
#[derive(Default)]
struct Raw(Vec<u8>);

impl Raw {
    fn header(version: u32, n_tensors: u64, n_kv: u64) -> Raw {
        Raw::default()
            .bytes(b"GGUF")
            .u32(version)
            .u64(n_tensors)
            .u64(n_kv)
    }
    fn bytes(mut self, b: &[u8]) -> Raw {
        self.0.extend_from_slice(b);
        self
    }
    fn u32(self, v: u32) -> Raw {
        self.bytes(&v.to_le_bytes())
    }
    fn u64(self, v: u64) -> Raw {
        self.bytes(&v.to_le_bytes())
    }
    fn str(self, s: &str) -> Raw {
        self.u64(s.len() as u64).bytes(s.as_bytes())
    }
    /// A tensor info: name, dims, type id, relative offset.
    fn tensor(self, name: &str, dims: &[u64], ty: u32, offset: u64) -> Raw {
        let mut r = self.str(name).u32(dims.len() as u32);
        for &d in dims {
            r = r.u64(d);
        }
        r.u32(ty).u64(offset)
    }
    /// Pad to 32 and append `n` data bytes.
    fn data(mut self, n: usize) -> Raw {
        while self.0.len() % 32 != 0 {
            self.0.push(0);
        }
        self.0.resize(self.0.len() + n, 0);
        self
    }
    fn parse(self) -> Result<GgufFile, WeightsError> {
        GgufFile::from_bytes(self.0)
    }
}

fn err(r: Raw) -> (WeightsError, String) {
    let e = r.parse().expect_err("bad input was accepted");
    let s = e.to_string();
    (e, s)
}

#[test]
fn bad_magic_says_what_it_might_be() {
    let (e, s) = err(Raw::default().bytes(b"GGML\x03\0\0\0"));
    assert!(
        matches!(e, WeightsError::BadMagic { found: 0x4c4d_4747 }),
        "{e:?}"
    );
    assert!(
        s.contains("not a GGUF file") && s.contains("expected 'GGUF'") && s.contains("safetensors"),
        "{s}"
    );
    // A safetensors header starts with its JSON length.
    let (e, _) = err(Raw::default().u64(120).bytes(b"{\"a\":{}}"));
    assert!(matches!(e, WeightsError::BadMagic { .. }), "{e:?}");
    let (e, s) = err(Raw::default().bytes(b"GG"));
    assert!(matches!(e, WeightsError::Truncated { .. }), "{e:?}");
    assert!(s.contains("truncated"), "{s}");
}

#[test]
fn versions_other_than_2_and_3_are_refused_clearly() {
    let (e, s) = err(Raw::header(1, 0, 0));
    assert!(matches!(e, WeightsError::UnsupportedVersion(1)), "{e:?}");
    assert!(s.contains("version 1") && s.contains("2 and 3"), "{s}");
    let (e, _) = err(Raw::header(4, 0, 0));
    assert!(matches!(e, WeightsError::UnsupportedVersion(4)), "{e:?}");
    let (e, s) = err(Raw::header(3u32.swap_bytes(), 0, 0));
    assert!(matches!(e, WeightsError::BigEndian { .. }), "{e:?}");
    assert!(s.contains("big-endian"), "{s}");
    assert!(Raw::header(3, 0, 0).parse().is_ok());
}

#[test]
fn truncated_tensor_data_names_the_tensor() {
    let r = Raw::header(3, 2, 0)
        .tensor("blk.0.attn_norm.weight", &[8], 0, 0)
        .tensor("blk.3.ffn_up.weight", &[64, 2], 8, 32)
        .data(32 + 4 * 34 - 1);
    let (e, s) = err(r);
    assert!(matches!(e, WeightsError::Truncated { .. }), "{e:?}");
    assert!(
        s.contains("tensor 'blk.3.ffn_up.weight'") && s.contains("re-download"),
        "{s}"
    );
    assert!(s.starts_with("GGUF file truncated"), "{s}");
}

#[test]
fn unknown_tensor_type_is_named() {
    let (e, s) = err(Raw::header(3, 1, 0).tensor("x", &[32], 23, 0).data(64));
    assert!(
        matches!(e, WeightsError::UnknownTensorType { ty: 23, .. }),
        "{e:?}"
    );
    assert!(s.contains("unsupported tensor type 23 in 'x'"), "{s}");
}

#[test]
fn duplicate_names_and_keys_are_refused() {
    let (e, _) = err(Raw::header(3, 2, 0)
        .tensor("a", &[8], 0, 0)
        .tensor("a", &[8], 0, 32)
        .data(64));
    assert!(
        matches!(e, WeightsError::DuplicateTensor(ref n) if n == "a"),
        "{e:?}"
    );
    let (_, s) = err(Raw::header(3, 0, 2)
        .str("k")
        .u32(4)
        .u32(1)
        .str("k")
        .u32(4)
        .u32(2));
    assert!(s.contains("'k' appears twice"), "{s}");
}

#[test]
fn misaligned_or_out_of_range_offsets_are_refused() {
    let (_, s) = err(Raw::header(3, 1, 0).tensor("a", &[8], 0, 4).data(64));
    assert!(s.contains("'a'") && s.contains("alignment"), "{s}");
    let (e, _) = err(Raw::header(3, 1, 0)
        .tensor("a", &[8], 0, u64::MAX - 31)
        .data(64));
    assert!(matches!(e, WeightsError::Truncated { .. }), "{e:?}");
}

#[test]
fn absurd_counts_fail_before_allocating() {
    let (_, s) = err(Raw::header(3, 1 << 60, 0));
    assert!(s.contains("tensor count"), "{s}");
    let (_, s) = err(Raw::header(3, 0, u64::MAX));
    assert!(s.contains("key count"), "{s}");
    // An array of 2^62 u64: the byte count overflows.
    let (_, s) = err(Raw::header(3, 0, 1).str("a").u32(9).u32(10).u64(1 << 62));
    assert!(s.contains("'a'") && s.contains("elements"), "{s}");
    // 2^40 strings: each needs at least 8 bytes.
    let (_, s) = err(Raw::header(3, 0, 1)
        .str("a")
        .u32(9)
        .u32(8)
        .u64(1 << 40)
        .u64(0));
    assert!(s.contains("'a'"), "{s}");
    // A string claiming u64::MAX bytes.
    let (e, _) = err(Raw::header(3, 0, 1).str("s").u32(8).u64(u64::MAX));
    assert!(matches!(e, WeightsError::Truncated { .. }), "{e:?}");
}

#[test]
fn malformed_values_are_refused() {
    // Unknown value type.
    let (_, s) = err(Raw::header(3, 0, 1).str("k").u32(13).u32(0));
    assert!(
        s.contains("'k'") && s.contains("unknown value type 13"),
        "{s}"
    );
    // Bool byte other than 0/1.
    let (_, s) = err(Raw::header(3, 0, 1).str("b").u32(7).bytes(&[2]));
    assert!(s.contains("bool"), "{s}");
    // Invalid UTF-8 in a key.
    let (_, s) = err(Raw::header(3, 0, 1)
        .u64(2)
        .bytes(&[0xff, 0xfe])
        .u32(4)
        .u32(0));
    assert!(s.contains("UTF-8"), "{s}");
    // Arrays nested 100 deep.
    let mut r = Raw::header(3, 0, 1).str("deep").u32(9);
    for _ in 0..100 {
        r = r.u32(9).u64(1);
    }
    let (_, s) = err(r.u32(4).u64(0));
    assert!(s.contains("deeper"), "{s}");
    // Alignment that is not a power of two, or not an integer.
    let (_, s) = err(Raw::header(3, 0, 1).str("general.alignment").u32(4).u32(48));
    assert!(s.contains("power of two"), "{s}");
    let (_, s) = err(Raw::header(3, 0, 1)
        .str("general.alignment")
        .u32(8)
        .str("32"));
    assert!(s.contains("general.alignment"), "{s}");
}

#[test]
fn malformed_tensor_infos_are_refused() {
    let (_, s) = err(Raw::header(3, 1, 0)
        .tensor("five", &[1, 1, 1, 1, 1], 0, 0)
        .data(32));
    assert!(s.contains("'five'") && s.contains("5 dimensions"), "{s}");
    let (_, s) = err(Raw::header(3, 1, 0).tensor("k", &[100], 12, 0).data(256));
    assert!(
        s.contains("'k'") && s.contains("not a multiple") && s.contains("Q4_K"),
        "{s}"
    );
    let (_, s) = err(Raw::header(3, 1, 0)
        .tensor("big", &[1 << 40, 1 << 40], 0, 0)
        .data(32));
    assert!(s.contains("'big'") && s.contains("overflow"), "{s}");
}

/// Found by cargo-fuzz: a row of 2^62 f32 made `GgmlType::row_bytes` overflow (a panic with overflow
/// checks, a silent wrap to a 0-byte tensor without them).
#[test]
fn regression_huge_row_length_overflow_is_an_error_not_a_wrap() {
    let (_, s) = err(Raw::header(3, 1, 0)
        .tensor("wrap", &[1 << 62], 0, 0)
        .data(32));
    assert!(s.contains("'wrap'") && s.contains("overflow"), "{s}");
    let (_, s) = err(Raw::header(3, 1, 0)
        .tensor("wrap_q", &[(1 << 62) + (1 << 61)], 14, 0)
        .data(32));
    assert!(s.contains("'wrap_q'"), "{s}");
    let t = weights::Tensor::from_owned("hand", GgmlType::F32, vec![1 << 62, 1 << 62], vec![]);
    assert_eq!(
        (t.row_bytes(), t.row(0), t.n_elements()),
        (None, None, usize::MAX)
    );
}

#[test]
fn getters_name_key_and_actual_type() {
    let f = GgufFile::from_bytes(sample_writer().to_bytes().unwrap()).unwrap();
    let m = f.metadata();
    let s = m.get_u32("t.string").unwrap_err().to_string();
    assert!(s.contains("'t.string'") && s.contains("string"), "{s}");
    let s = m.get_str_array("a.u32").unwrap_err().to_string();
    assert!(s.contains("'a.u32'") && s.contains("array<u32>"), "{s}");
    assert_eq!(m.get_u32("t.u8").unwrap(), 200);
    assert_eq!(m.get_u64("t.u16").unwrap(), 60000);
    assert!(m.get_u32("t.i32").is_err(), "-7 must not fit in u32");
    assert_eq!(m.get_i32("t.i16").unwrap(), -300);
    assert_eq!(m.get_f32("t.f64").unwrap(), 0.1f32);
    assert!(m.get_bool("t.bool").unwrap());
    assert_eq!(&*m.get_i32_array("a.i32").unwrap(), &[-1, 2, -3]);
    assert_eq!(&*m.get_u32_array("a.u16").unwrap(), &[1, 65535]);
    assert_eq!(&*m.get_f32_array("a.f64").unwrap(), &[1.0, -0.25]);
    assert_eq!(m.opt_str("missing"), None);
    assert_eq!(m.opt_u32("t.u32"), Some(4_000_000_000));
}

/// The other direction: a file written by gguf-py's GGUFWriter must read back as written.
#[test]
fn we_read_files_written_by_python_gguf() {
    const SCRIPT: &str = r#"
import sys
try:
    import numpy as np, gguf
except ImportError as e:
    sys.exit(f"{e}; run: pip install gguf numpy")
w = gguf.GGUFWriter(sys.argv[1], "tiny")
w.add_uint8("t.u8", 200); w.add_int8("t.i8", -5); w.add_uint16("t.u16", 60000); w.add_int16("t.i16", -300)
w.add_uint32("t.u32", 4000000000); w.add_int32("t.i32", -7); w.add_float32("t.f32", 1.5); w.add_bool("t.bool", True)
w.add_string("t.string", "héllo"); w.add_uint64("t.u64", 1 << 50); w.add_int64("t.i64", -(1 << 40)); w.add_float64("t.f64", 0.1)
w.add_array("a.str", ["a", "", "▁b"]); w.add_array("a.f32", [0.5, -2.0]); w.add_array("a.int", [1, -2, 3])
w.add_array("a.bool", [True, False]); w.add_array("a.nested", [[1, 2], [3]])
w.add_tensor("f32", np.arange(12, dtype=np.float32).reshape(3, 4))
w.add_tensor("f16", np.arange(6, dtype=np.float16).reshape(2, 3))
q = (np.arange(2 * 34) % 251).astype(np.uint8).reshape(2, 34)
w.add_tensor("q8", q, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
"#;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("from_python.gguf");
    let out = std::process::Command::new("python3")
        .args(["-c", SCRIPT])
        .arg(&path)
        .output()
        .expect("python3 runs (install Python 3, then pip install gguf numpy)");
    assert!(
        out.status.success(),
        "gguf-py writer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let f = GgufFile::open(&path).unwrap();
    assert_eq!(f.version(), 3);
    let m = f.metadata();
    assert_eq!(m.get_str("general.architecture").unwrap(), "tiny");
    assert_eq!(m.get("t.u8"), Some(&MetaValue::U8(200)));
    assert_eq!(m.get("t.i8"), Some(&MetaValue::I8(-5)));
    assert_eq!(m.get("t.u16"), Some(&MetaValue::U16(60000)));
    assert_eq!(m.get("t.i16"), Some(&MetaValue::I16(-300)));
    assert_eq!(m.get("t.u32"), Some(&MetaValue::U32(4_000_000_000)));
    assert_eq!(m.get("t.i32"), Some(&MetaValue::I32(-7)));
    assert_eq!(m.get("t.f32"), Some(&MetaValue::F32(1.5)));
    assert_eq!(m.get("t.bool"), Some(&MetaValue::Bool(true)));
    assert_eq!(m.get("t.string"), Some(&MetaValue::String("héllo".into())));
    assert_eq!(m.get("t.u64"), Some(&MetaValue::U64(1 << 50)));
    assert_eq!(m.get("t.i64"), Some(&MetaValue::I64(-(1 << 40))));
    assert_eq!(m.get("t.f64"), Some(&MetaValue::F64(0.1)));
    assert_eq!(m.get_str_array("a.str").unwrap(), ["a", "", "▁b"]);
    assert_eq!(&*m.get_f32_array("a.f32").unwrap(), &[0.5, -2.0]);
    assert_eq!(&*m.get_i32_array("a.int").unwrap(), &[1, -2, 3]);
    assert_eq!(
        m.get("a.bool"),
        Some(&MetaValue::Array(MetaArray::Bool(vec![true, false])))
    );
    let nested = m.get_array("a.nested").unwrap();
    assert_eq!(nested.type_name(), "array<array<i32>>");
    assert_eq!(
        nested,
        &MetaArray::Array(vec![MetaArray::I32(vec![1, 2]), MetaArray::I32(vec![3])])
    );

    let t = f.tensor("f32").unwrap();
    assert_eq!(
        (t.ty, t.shape.clone()),
        (GgmlType::F32, vec![4, 3]),
        "numpy (3, 4) is ggml [4, 3]"
    );
    assert_eq!(
        t.data(),
        &f32_bytes(&(0..12).map(|i| i as f32).collect::<Vec<_>>())[..]
    );
    let h = f.tensor("f16").unwrap();
    assert_eq!(
        (h.ty, h.shape.clone(), h.data().len()),
        (GgmlType::F16, vec![3, 2], 12)
    );
    let q = f.tensor("q8").unwrap();
    assert_eq!((q.ty, q.shape.clone()), (GgmlType::Q8_0, vec![32, 2]));
    assert_eq!(
        q.data(),
        &(0..68u32).map(|i| (i % 251) as u8).collect::<Vec<_>>()[..]
    );
}

#[test]
fn streaming_write_matches_buffered_write_and_checks_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let mut buffered = GgufWriter::new();
    buffered.set("general.architecture", "tiny");
    let declared = vec![
        ("a".to_string(), GgmlType::F32, vec![3, 2]),
        ("b".to_string(), GgmlType::Q8_0, vec![64]),
    ];
    let data = [bytes(24, 1), bytes(68, 2)];
    for ((n, t, s), d) in declared.iter().zip(&data) {
        buffered.add_tensor_bytes(n.clone(), *t, s.clone(), d.clone()).unwrap();
    }
    let streaming = GgufWriter::with_metadata(buffered.metadata().clone());
    let path = dir.path().join("s.gguf");
    streaming.write_streaming(&path, &declared, &mut |i, w| w.write_all(&data[i])).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), buffered.to_bytes().unwrap());
    // A tensor one byte short, or an error from the producer: no file, no temp file.
    let bad = dir.path().join("bad.gguf");
    let e = streaming.write_streaming(&bad, &declared, &mut |i, w| w.write_all(&data[i][..data[i].len() - i])).unwrap_err();
    assert!(e.to_string().contains("tensor 'b': 67 bytes"), "{e}");
    let e = streaming
        .write_streaming(&bad, &declared, &mut |_, _| Err(std::io::Error::other("producer failed")))
        .unwrap_err();
    assert!(e.to_string().contains("producer failed"), "{e}");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, vec![std::ffi::OsString::from("s.gguf")]);
}
