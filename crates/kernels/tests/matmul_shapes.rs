//! `matmul` against row-by-row scalar dots, for every weight type, CPU level, thread count and odd
//! shape (m = 1, 2, 3, 5, 17; rows not a multiple of the thread count or tile size), plus the
//! validation errors.

mod simd_util;

use kernels::cpu::CpuLevel;
use kernels::dot::{self, ActFormat, ActRow, BlockQ8, BlockQ8K};
use kernels::matmul::{matmul, matmul_at, try_matmul, MatmulError, QMatrix};
use kernels::pool::ThreadPool;
use kernels::{GgmlType, QK_K};
use simd_util::*;

const MS: [usize; 5] = [1, 2, 3, 5, 17];

/// y[j, i] by scalar `vec_dot` on scalar-quantized activations: the definition matmul must meet.
fn reference(ty: GgmlType, w: &[u8], rows: usize, k: usize, x: &[f32], m: usize) -> (Vec<f32>, Vec<f32>) {
    let rb = ty.row_bytes(k).unwrap();
    let mut y = vec![0f32; m * rows];
    // Per output, the sum of |terms|: the scale for the f32-reordering tolerance.
    let mut mag = vec![0f32; m * rows];
    for j in 0..m {
        let xr = &x[j * k..(j + 1) * k];
        let mut q8 = vec![BlockQ8::ZERO; k / 32];
        let mut q8k = vec![BlockQ8K::ZERO; k / QK_K];
        let act = match ActFormat::for_weight(ty).unwrap() {
            ActFormat::Q8 => {
                dot::quantize_q8(CpuLevel::Scalar, xr, &mut q8);
                ActRow::Q8(&q8)
            }
            ActFormat::Q8K => {
                dot::quantize_q8k(CpuLevel::Scalar, xr, &mut q8k);
                ActRow::Q8K(&q8k)
            }
            ActFormat::F32 => ActRow::F32(xr),
        };
        let xabs: Vec<f32> = xr.iter().map(|v| v.abs()).collect();
        for i in 0..rows {
            let row = &w[i * rb..(i + 1) * rb];
            y[j * rows + i] = dot::vec_dot(CpuLevel::Scalar, ty, row, act).unwrap();
            let mut wf = vec![0f32; k];
            kernels::matmul::dequantize_row_into(ty, row, &mut wf).unwrap();
            mag[j * rows + i] = wf.iter().zip(&xabs).map(|(w, x)| w.abs() * x).sum();
        }
    }
    (y, mag)
}

#[allow(clippy::too_many_arguments)]
fn check(ty: GgmlType, level: CpuLevel, threads: usize, rows: usize, k: usize, m: usize, pool: &ThreadPool, rng: &mut Rng) {
    let w = random_matrix(ty, rows, k, rng);
    let x = activations(m * k, rng);
    let (want, mag) = reference(ty, &w, rows, k, &x, m);
    let qm = QMatrix::new(ty, &w, rows, k).unwrap();
    let mut y = vec![f32::NAN; m * rows];
    matmul_at(level, pool, &qm, &x, m, &mut y).unwrap();
    for (idx, ((g, w), mag)) in y.iter().zip(&want).zip(&mag).enumerate() {
        // Same integer sums; f32 accumulation order differs (and the scale of the magnitude bound
        // includes the activation-quantization slack).
        let tol = 4e-6 * mag + 1e-30;
        assert!(
            (g - w).abs() <= tol,
            "{} {level} threads={threads} rows={rows} k={k} m={m}: y[{}, {}] = {g}, want {w} (tol {tol:e})",
            ty.name(),
            idx / rows,
            idx % rows
        );
    }
}

#[test]
fn matmul_matches_rowwise_dots_all_types_levels_threads() {
    let mut rng = Rng::new(10);
    let pools: Vec<ThreadPool> = [1, 2, 3].into_iter().map(ThreadPool::new).collect();
    for ty in WEIGHT_TYPES {
        // A short and a long row length per type.
        let ks = ks_for(ty);
        for &k in [ks[0], *ks.last().unwrap()].iter() {
            for &level in &levels() {
                for pool in &pools {
                    for &m in &MS {
                        let rows = [37, 70][m % 2];
                        check(ty, level, pool.n_threads(), rows, k, m, pool, &mut rng);
                    }
                }
            }
        }
    }
}

/// Row lengths that are not whole 256-blocks (96, 640) for the 32-value block types, every m, rows not a
/// multiple of any tile, at every level (on aarch64 this is NEON and NEON dotprod against scalar).
#[test]
fn matmul_odd_k_32_block_types() {
    let mut rng = Rng::new(14);
    let pool = ThreadPool::new(2);
    for ty in [GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0] {
        for k in [96, 640] {
            for &level in &levels() {
                for &m in &MS {
                    check(ty, level, 2, 37, k, m, &pool, &mut rng);
                }
            }
        }
    }
}

/// The model's own shapes (k = 640 Q5_0 / Q8_0, 1024 Q4_K, 2048 Q6_K), prefill-sized m.
#[test]
fn matmul_gemma_shapes() {
    let mut rng = Rng::new(11);
    let pool = ThreadPool::new(2);
    for (ty, k, rows) in [
        (GgmlType::Q5_0, 640, 129),
        (GgmlType::Q8_0, 640, 131),
        (GgmlType::Q4K, 1024, 67),
        (GgmlType::Q6K, 2048, 65),
    ] {
        for &level in &levels() {
            for m in [1, 17, 64] {
                check(ty, level, 2, rows, k, m, &pool, &mut rng);
            }
        }
    }
}

/// Large enough to cross the serial threshold and to quantize activations on several threads.
#[test]
fn matmul_parallel_paths() {
    let mut rng = Rng::new(12);
    let pool = ThreadPool::new(3);
    for &level in &levels() {
        check(GgmlType::Q4_0, level, 3, 301, 1024, 70, &pool, &mut rng);
        check(GgmlType::Q5K, level, 3, 77, 2048, 40, &pool, &mut rng);
    }
}

#[test]
fn matmul_entry_points_agree() {
    let mut rng = Rng::new(13);
    let pool = ThreadPool::new(2);
    let (rows, k, m) = (50, 64, 3);
    let w = random_matrix(GgmlType::Q8_0, rows, k, &mut rng);
    let x = activations(m * k, &mut rng);
    let qm = QMatrix::new(GgmlType::Q8_0, &w, rows, k).unwrap();
    let mut a = vec![0f32; m * rows];
    let mut b = vec![0f32; m * rows];
    matmul(&pool, &qm, &x, m, &mut a);
    try_matmul(&pool, &qm, &x, m, &mut b).unwrap();
    assert_eq!(a, b);
    assert_eq!(qm.row(49).unwrap().len(), qm.row_bytes());
    assert!(qm.row(50).is_none());
}

#[test]
fn validation_errors_name_the_problem() {
    let pool = ThreadPool::new(1);
    let w = vec![0u8; 4 * 34];
    assert!(QMatrix::new(GgmlType::Q8_0, &w, 4, 32).is_ok());
    let e = QMatrix::new(GgmlType::Q8_0, &w, 5, 32).unwrap_err();
    assert!(matches!(e, MatmulError::DataSize { expected: 170, actual: 136, .. }), "{e}");
    assert!(e.to_string().contains("truncated"), "{e}");
    let e = QMatrix::new(GgmlType::Q4K, &w, 1, 640).unwrap_err();
    assert!(matches!(e, MatmulError::RaggedRow { cols: 640, .. }), "{e}");
    let e = QMatrix::new(GgmlType::Q2K, &w, 1, 256).unwrap_err();
    assert!(matches!(e, MatmulError::UnsupportedType(GgmlType::Q2K)), "{e}");

    let qm = QMatrix::new(GgmlType::Q8_0, &w, 4, 32).unwrap();
    let x = vec![0f32; 64];
    let mut y = vec![0f32; 8];
    assert!(try_matmul(&pool, &qm, &x, 2, &mut y).is_ok());
    let e = try_matmul(&pool, &qm, &x[..63], 2, &mut y).unwrap_err();
    assert!(matches!(e, MatmulError::Shape { what: "x", expected: 64, actual: 63 }), "{e}");
    let e = try_matmul(&pool, &qm, &x, 2, &mut y[..7]).unwrap_err();
    assert!(matches!(e, MatmulError::Shape { what: "y", .. }), "{e}");
    // A hand-built QMatrix with a wrong size is caught too (fields are public).
    let bad = QMatrix { ty: GgmlType::Q8_0, data: &w[..100], rows: 4, cols: 32 };
    assert!(try_matmul(&pool, &bad, &x, 2, &mut y).is_err());
    // m = 0 is a no-op.
    assert!(try_matmul(&pool, &qm, &[], 0, &mut []).is_ok());
}

#[test]
#[should_panic(expected = "matmul: x has 3 values")]
fn matmul_panics_on_shape_mismatch() {
    let pool = ThreadPool::new(1);
    let w = vec![0u8; 34];
    let qm = QMatrix::new(GgmlType::Q8_0, &w, 1, 32).unwrap();
    let mut y = vec![0f32; 1];
    matmul(&pool, &qm, &[0.0; 3], 1, &mut y);
}

/// The same matmul called from inside a pool job (nested) still computes the right thing.
#[test]
fn matmul_inside_pool_job() {
    let mut rng = Rng::new(14);
    let pool = ThreadPool::new(2);
    let (rows, k) = (300, 640);
    let w = random_matrix(GgmlType::Q5_0, rows, k, &mut rng);
    let x = activations(k, &mut rng);
    let qm = QMatrix::new(GgmlType::Q5_0, &w, rows, k).unwrap();
    let mut want = vec![0f32; rows];
    matmul(&pool, &qm, &x, 1, &mut want);
    let results = std::sync::Mutex::new(Vec::new());
    pool.run(&|_, _| {
        let mut y = vec![0f32; rows];
        matmul(&pool, &qm, &x, 1, &mut y);
        results.lock().unwrap().push(y);
    });
    for y in results.into_inner().unwrap() {
        assert_eq!(y, want);
    }
}

/// The VNNI kernels compute the same integers as the AVX2 ones (`vpdpbusd` / `vpdpwssd` for
/// `maddubs` + `madd`), so direct tiles (m < 8) must agree bit for bit; the interleaved panels
/// (m >= 8, all block types) sum in another order and are held to the reference tolerance by
/// `matmul_matches_rowwise_dots_all_types_levels_threads`.
#[cfg(target_arch = "x86_64")]
#[test]
fn vnni_kernels_match_avx2_bit_for_bit() {
    let has_vnni = std::arch::is_x86_feature_detected!("avx512vnni")
        && std::arch::is_x86_feature_detected!("avx512vl")
        && std::arch::is_x86_feature_detected!("avx512bw");
    // Where the CPU has VNNI the level must be detected, or every VNNI kernel would go untested.
    assert_eq!(CpuLevel::Avx512Vnni.is_supported(), has_vnni, "VNNI detection disagrees with the CPU flags");
    if !has_vnni {
        eprintln!("this CPU has no AVX-512 VNNI: only the detection was checked");
        return;
    }
    let mut rng = Rng::new(14);
    let pool = ThreadPool::new(2);
    for ty in WEIGHT_TYPES {
        let k = *ks_for(ty).last().unwrap();
        for m in [1, 2, 3, 5] {
            let rows = 45;
            let w = random_matrix(ty, rows, k, &mut rng);
            let x = activations(m * k, &mut rng);
            let qm = QMatrix::new(ty, &w, rows, k).unwrap();
            let mut a = vec![0f32; m * rows];
            let mut b = vec![0f32; m * rows];
            matmul_at(CpuLevel::Avx2, &pool, &qm, &x, m, &mut a).unwrap();
            matmul_at(CpuLevel::Avx512Vnni, &pool, &qm, &x, m, &mut b).unwrap();
            assert_eq!(a, b, "{} k={k} m={m}: VNNI and AVX2 kernels differ", ty.name());
        }
    }
}
