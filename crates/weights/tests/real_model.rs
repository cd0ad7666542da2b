//! The real Gemma 3 270M Q4_K_M file: header facts against the reference JSON, names, and bit-exact
//! dequantization of every tensor type against the Python `gguf` package.

mod common;

use std::collections::BTreeMap;

use weights::{tn, GgmlType, GgufFile, MetaKey, TensorName};

fn open() -> GgufFile {
    GgufFile::open(&common::model_path()).expect("the real model opens")
}

#[test]
fn header_matches_reference() {
    let f = open();
    let reference = common::reference_metadata();
    assert_eq!(f.version(), 3);
    assert_eq!(
        f.file_size(),
        reference["provenance"]["model_bytes"].as_u64().unwrap()
    );
    assert_eq!(f.tensor_infos().len(), 236);
    assert_eq!(
        f.tensor_infos().len() as u64,
        reference["n_tensors"].as_u64().unwrap()
    );
    assert_eq!(f.alignment(), 32);

    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    let mut sizes: BTreeMap<&str, u64> = BTreeMap::new();
    for t in f.tensor_infos() {
        *counts.entry(t.ty.name()).or_default() += 1;
        *sizes.entry(t.ty.name()).or_default() += t.n_bytes as u64;
    }
    let expected: BTreeMap<&str, u64> = [
        ("Q5_0", 81),
        ("Q4_K", 27),
        ("Q6_K", 9),
        ("Q8_0", 10),
        ("F32", 109),
    ]
    .into();
    assert_eq!(counts, expected);
    for (ty, n) in reference["tensor_type_counts"].as_object().unwrap() {
        assert_eq!(counts[ty.as_str()], n.as_u64().unwrap(), "count of {ty}");
        assert_eq!(
            sizes[ty.as_str()],
            reference["tensor_type_bytes"][ty].as_u64().unwrap(),
            "bytes of {ty}"
        );
    }
    for t in reference["tensors_nonblock_and_blk0"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap();
        let info = f
            .tensor_info(name)
            .unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(info.ty.name(), t["type"].as_str().unwrap(), "{name}");
        let shape: Vec<usize> = t["shape_ggml"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(info.shape, shape, "{name}");
        assert_eq!(
            info.n_bytes as u64,
            t["n_bytes"].as_u64().unwrap(),
            "{name}"
        );
    }
}

#[test]
fn metadata_matches_reference() {
    let f = open();
    let m = f.metadata();
    let kv = &common::reference_metadata()["gguf_kv"];
    let arch = m.get_str(&MetaKey::GeneralArchitecture.key("")).unwrap();
    assert_eq!(arch, "gemma3");
    assert_eq!(
        m.get_str(&MetaKey::GeneralName.key(arch)).unwrap(),
        kv["general.name"]
    );
    assert_eq!(
        m.get_str(&MetaKey::GeneralLicense.key(arch)).unwrap(),
        "gemma"
    );
    assert_eq!(m.get_u32(&MetaKey::GeneralFileType.key(arch)).unwrap(), 15);
    for (key, name) in [
        (MetaKey::ContextLength, "gemma3.context_length"),
        (MetaKey::EmbeddingLength, "gemma3.embedding_length"),
        (MetaKey::BlockCount, "gemma3.block_count"),
        (MetaKey::FeedForwardLength, "gemma3.feed_forward_length"),
        (MetaKey::AttentionHeadCount, "gemma3.attention.head_count"),
        (
            MetaKey::AttentionHeadCountKv,
            "gemma3.attention.head_count_kv",
        ),
        (MetaKey::AttentionKeyLength, "gemma3.attention.key_length"),
        (
            MetaKey::AttentionValueLength,
            "gemma3.attention.value_length",
        ),
        (
            MetaKey::AttentionSlidingWindow,
            "gemma3.attention.sliding_window",
        ),
    ] {
        assert_eq!(key.key(arch), name);
        assert_eq!(
            m.get_u64(&key.key(arch)).unwrap(),
            kv[name].as_u64().unwrap(),
            "{name}"
        );
    }
    assert_eq!(m.get_u32(&MetaKey::BlockCount.key(arch)).unwrap(), 18);
    let eps = m
        .get_f32(&MetaKey::AttentionLayerNormRmsEpsilon.key(arch))
        .unwrap();
    assert_eq!(
        eps as f64,
        kv["gemma3.attention.layer_norm_rms_epsilon"]
            .as_f64()
            .unwrap()
    );
    assert_eq!(m.get_f32(&MetaKey::RopeFreqBase.key(arch)).unwrap(), 1e6);
    assert_eq!(
        m.get_str(&MetaKey::TokenizerModel.key(arch)).unwrap(),
        "llama"
    );
    assert_eq!(m.get_u32(&MetaKey::TokenizerBosId.key(arch)).unwrap(), 2);
    assert_eq!(m.get_u32(&MetaKey::TokenizerEosId.key(arch)).unwrap(), 1);
    assert_eq!(
        m.get_u32(&MetaKey::TokenizerPaddingId.key(arch)).unwrap(),
        0
    );
    assert!(m.get_bool(&MetaKey::TokenizerAddBos.key(arch)).unwrap());
    assert!(!m
        .get_bool(&MetaKey::TokenizerAddSpacePrefix.key(arch))
        .unwrap());
    assert_eq!(m.opt_f32(&MetaKey::RopeScalingFactor.key(arch)), None);

    let tokens = m
        .get_str_array(&MetaKey::TokenizerTokens.key(arch))
        .unwrap();
    assert_eq!(tokens.len(), 262144);
    let first: Vec<&str> = kv["tokenizer.ggml.tokens"]["first"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(&tokens[..first.len()], &first[..]);
    let scores = m
        .get_f32_array(&MetaKey::TokenizerScores.key(arch))
        .unwrap();
    assert_eq!(scores.len(), 262144);
    assert!(
        matches!(scores, std::borrow::Cow::Borrowed(_)),
        "f32 scores are borrowed, not copied"
    );
    assert_eq!(scores[0], -1000.0);
    let types = m
        .get_i32_array(&MetaKey::TokenizerTokenType.key(arch))
        .unwrap();
    let first_types: Vec<i32> = kv["tokenizer.ggml.token_type"]["first"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap() as i32)
        .collect();
    assert_eq!(&types[..first_types.len()], &first_types[..]);
    let tags = m.get_str_array("general.tags").unwrap();
    assert_eq!(tags, ["gemma3", "gemma", "google", "text-generation"]);
}

#[test]
fn typed_names_find_every_gemma3_tensor() {
    let f = open();
    let mut expected = vec![
        tn(TensorName::TokenEmbd, None),
        tn(TensorName::OutputNorm, None),
    ];
    for il in 0..18 {
        for name in [
            TensorName::AttnNorm,
            TensorName::AttnQ,
            TensorName::AttnK,
            TensorName::AttnV,
            TensorName::AttnOutput,
            TensorName::AttnQNorm,
            TensorName::AttnKNorm,
            TensorName::AttnPostNorm,
            TensorName::FfnNorm,
            TensorName::FfnGate,
            TensorName::FfnUp,
            TensorName::FfnDown,
            TensorName::FfnPostNorm,
        ] {
            expected.push(tn(name, Some(il)));
        }
    }
    let mut actual: Vec<String> = f.tensor_infos().iter().map(|t| t.name.clone()).collect();
    actual.sort();
    expected.sort();
    assert_eq!(actual, expected);
    assert!(
        !f.contains_tensor(&tn(TensorName::Output, None)),
        "gemma3 ties output to token_embd"
    );
    let e = f
        .tensor(&tn(TensorName::Output, None))
        .unwrap_err()
        .to_string();
    assert!(e.contains("'output.weight'"), "{e}");

    let emb = f.tensor(&tn(TensorName::TokenEmbd, None)).unwrap();
    assert_eq!(
        (emb.ty, emb.cols(), emb.rows()),
        (GgmlType::Q8_0, 640, 262144)
    );
    assert_eq!(emb.row(262143).unwrap().len(), 680);
}

/// For one tensor of every type in the model: the first 4 rows through `kernels::dequant::dequantize_row`
/// must equal `gguf.quants.dequantize` (Python, reading the bytes itself) bit for bit.
#[test]
fn dequantized_rows_match_python_gguf_bit_for_bit() {
    let path = common::model_path();
    let f = GgufFile::open(&path).unwrap();
    let mut picked: BTreeMap<&str, &weights::TensorInfo> = BTreeMap::new();
    for info in f.tensor_infos() {
        // Prefer a 2-D tensor so "4 rows" means 4 rows.
        let better = match picked.get(info.ty.name()) {
            None => true,
            Some(p) => p.shape.len() < 2 && info.shape.len() >= 2,
        };
        if better {
            picked.insert(info.ty.name(), info);
        }
    }
    assert_eq!(
        picked.keys().copied().collect::<Vec<_>>(),
        ["F32", "Q4_K", "Q5_0", "Q6_K", "Q8_0"]
    );

    let dir = tempfile::tempdir().unwrap();
    let max_rows = 4usize.to_string();
    let mut args = vec![path.as_os_str(), max_rows.as_ref(), dir.path().as_os_str()];
    args.extend(picked.values().map(|info| std::ffi::OsStr::new(&info.name)));
    let stdout = common::python_script("gguf_tensor_rows.py", &args);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), picked.len(), "python printed: {stdout}");

    for ((ty, info), line) in picked.iter().zip(lines) {
        let t = f.tensor(&info.name).unwrap();
        let n_rows = t.rows().min(4);
        let (ty, cols, rows) = (ty.to_string(), t.cols().to_string(), n_rows.to_string());
        assert_eq!(
            line.split_whitespace().collect::<Vec<_>>(),
            [info.name.as_str(), &ty, &cols, &rows]
        );
        let out = dir.path().join(format!("{}.f32", info.name));
        let expected: Vec<u32> = std::fs::read(&out)
            .unwrap()
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        assert_eq!(expected.len(), n_rows * t.cols());

        let mut got = vec![0f32; t.cols()];
        for r in 0..n_rows {
            kernels::dequant::dequantize_row(t.ty, t.row(r).unwrap(), &mut got)
                .unwrap_or_else(|e| panic!("{}: {e}", info.name));
            let want = &expected[r * t.cols()..(r + 1) * t.cols()];
            let diff = got.iter().zip(want).position(|(g, w)| g.to_bits() != *w);
            if let Some(i) = diff {
                panic!(
                    "{} ({ty}) row {r} col {i}: kernels gives {} ({:#010x}), gguf-py gives {} ({:#010x})",
                    info.name,
                    got[i],
                    got[i].to_bits(),
                    f32::from_bits(want[i]),
                    want[i]
                );
            }
        }
        // And the rows are not trivially zero (which would hide a wrong offset).
        assert!(
            got.iter().any(|&x| x != 0.0),
            "{}: last row is all zeros",
            info.name
        );
    }
}

/// `open_resident` (the engine's loader: the file read into huge-page memory) sees the same header and
/// the same bytes in every tensor as the file map.
#[test]
fn resident_copy_equals_the_file_map() {
    let path = common::model_path();
    let mapped = open();
    let resident = GgufFile::open_resident(&path).expect("the real model reads into memory");
    assert_eq!(resident.tensor_infos().len(), mapped.tensor_infos().len());
    assert_eq!(resident.metadata().len(), mapped.metadata().len());
    for info in mapped.tensor_infos() {
        let (a, b) = (mapped.tensor(&info.name).unwrap(), resident.tensor(&info.name).unwrap());
        assert_eq!((a.ty, &a.shape), (b.ty, &b.shape), "{}", info.name);
        assert!(a.data() == b.data(), "{} differs between the map and the resident copy", info.name);
    }
}

#[test]
fn resident_open_of_a_missing_or_truncated_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.gguf");
    let e = GgufFile::open_resident(&missing).err().expect("missing file").to_string();
    assert!(e.contains("nope.gguf"), "{e}");
    let bytes = std::fs::read(common::model_path()).unwrap();
    let cut = dir.path().join("cut.gguf");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let e = GgufFile::open_resident(&cut).err().expect("truncated file").to_string();
    assert!(e.contains("truncated") || e.contains("beyond") || e.contains("end of"), "{e}");
}
