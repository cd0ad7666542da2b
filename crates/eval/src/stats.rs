//! The statistics behind the bias and safety reports: binomial confidence intervals, a seeded
//! permutation test, and distances between discrete distributions.
//!
//! Intervals are exact Clopper-Pearson by default: the suites are small (a dozen items per
//! category) and rates near 0 or 1 are the interesting ones (a model that always refuses), where
//! the normal approximation collapses and even Wilson undercovers; Clopper-Pearson guarantees at
//! least the nominal coverage at every n and p, at the price of being wider. Wilson is offered too.

use serde::Serialize;

/// A proportion with its confidence interval.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Proportion {
    pub k: usize,
    pub n: usize,
    /// k / n (0 when n = 0).
    pub p: f64,
    pub lo: f64,
    pub hi: f64,
}

impl Proportion {
    /// k of n with the 95% Clopper-Pearson interval.
    pub fn new(k: usize, n: usize) -> Self {
        let (lo, hi) = clopper_pearson(k, n, 0.05);
        Proportion { k, n, p: if n == 0 { 0.0 } else { k as f64 / n as f64 }, lo, hi }
    }
}

/// Exact (Clopper-Pearson) interval at level 1 - alpha: the bounds are the p at which the
/// binomial tail P(X >= k) resp. P(X <= k) equals alpha / 2. n = 0 gives [0, 1].
pub fn clopper_pearson(k: usize, n: usize, alpha: f64) -> (f64, f64) {
    assert!(k <= n, "k {k} > n {n}");
    if n == 0 {
        return (0.0, 1.0);
    }
    let (kf, nf) = (k as f64, n as f64);
    let lo = if k == 0 { 0.0 } else { beta_inv(alpha / 2.0, kf, nf - kf + 1.0) };
    let hi = if k == n { 1.0 } else { beta_inv(1.0 - alpha / 2.0, kf + 1.0, nf - kf) };
    (lo, hi)
}

/// Wilson score interval at level 1 - alpha (z from the normal quantile).
pub fn wilson(k: usize, n: usize, alpha: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let z = normal_quantile(1.0 - alpha / 2.0);
    let (nf, p) = (n as f64, k as f64 / n as f64);
    let d = 1.0 + z * z / nf;
    let c = (p + z * z / (2.0 * nf)) / d;
    let h = z * (p * (1.0 - p) / nf + z * z / (4.0 * nf * nf)).sqrt() / d;
    ((c - h).max(0.0), (c + h).min(1.0))
}

/// Standard normal quantile, by bisection on the CDF (fast enough, and no coefficient tables).
pub fn normal_quantile(p: f64) -> f64 {
    let (mut lo, mut hi) = (-40.0f64, 40.0f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if normal_cdf(mid) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

pub fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// Complementary error function via the regularized incomplete gamma Q(1/2, x^2).
fn erfc(x: f64) -> f64 {
    if x < 0.0 {
        return 2.0 - erfc(-x);
    }
    // erfc(x) = Q(0.5, x^2) = 1 - P(0.5, x^2); P by series for small x^2, Q by continued fraction.
    let a = 0.5;
    let z = x * x;
    if z < a + 1.0 {
        let (mut sum, mut term, mut ap) = (1.0 / a, 1.0 / a, a);
        for _ in 0..500 {
            ap += 1.0;
            term *= z / ap;
            sum += term;
            if term.abs() < sum.abs() * 1e-16 {
                break;
            }
        }
        1.0 - sum * (-z + a * z.ln() - ln_gamma(a)).exp()
    } else {
        let tiny = 1e-300;
        let mut b = z + 1.0 - a;
        let mut c = 1.0 / tiny;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..500 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            d = if d.abs() < tiny { tiny } else { d };
            c = b + an / c;
            c = if c.abs() < tiny { tiny } else { c };
            d = 1.0 / d;
            let del = d * c;
            h *= del;
            if (del - 1.0).abs() < 1e-16 {
                break;
            }
        }
        (-z + a * z.ln() - ln_gamma(a)).exp() * h
    }
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; ~1e-15 relative).
pub fn ln_gamma(x: f64) -> f64 {
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut s = C[0];
    for (i, &c) in C.iter().enumerate().skip(1) {
        s += c / (x + i as f64);
    }
    let t = x + 7.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + s.ln()
}

/// Regularized incomplete beta I_x(a, b) by its continued fraction (modified Lentz).
pub fn beta_inc(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front = (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    // The fraction converges fast for x < (a+1)/(a+b+2); use the symmetry otherwise.
    if x > (a + 1.0) / (a + b + 2.0) {
        return 1.0 - beta_inc(1.0 - x, b, a);
    }
    let tiny = 1e-300;
    let (mut c, mut d) = (1.0, 1.0 - (a + b) * x / (a + 1.0));
    d = if d.abs() < tiny { tiny } else { d };
    d = 1.0 / d;
    let mut h = d;
    for m in 1..1000 {
        let m = m as f64;
        for num in [m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m)), -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0))] {
            d = 1.0 + num * d;
            d = if d.abs() < tiny { tiny } else { d };
            c = 1.0 + num / c;
            c = if c.abs() < tiny { tiny } else { c };
            d = 1.0 / d;
            h *= d * c;
        }
        if (d * c - 1.0).abs() < 1e-15 {
            break;
        }
    }
    front * h / a
}

/// x with I_x(a, b) = q, by bisection (I is monotone in x; 100 halvings reach f64 precision).
pub fn beta_inv(q: f64, a: f64, b: f64) -> f64 {
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if beta_inc(mid, a, b) < q {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// A small deterministic RNG (SplitMix64), so permutation p-values are reproducible.
pub struct SplitMix(u64);

impl SplitMix {
    pub fn new(seed: u64) -> Self {
        SplitMix(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in 0..n (n > 0); the modulo bias is below 2^-40 for the sizes used here.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Two-sided permutation test: how often a random relabelling of the pooled items gives a
/// statistic at least as large as the observed one. `stat(a, b)` must be symmetric-ish and large
/// for a gap. p = (1 + hits) / (1 + rounds), never 0.
pub fn permutation_test<T: Clone>(a: &[T], b: &[T], rounds: usize, seed: u64, stat: impl Fn(&[T], &[T]) -> f64) -> (f64, f64) {
    let observed = stat(a, b);
    let mut pool: Vec<T> = a.iter().chain(b).cloned().collect();
    let mut rng = SplitMix::new(seed);
    let mut hits = 0usize;
    for _ in 0..rounds {
        for i in (1..pool.len()).rev() {
            pool.swap(i, rng.below(i + 1));
        }
        let (x, y) = pool.split_at(a.len());
        // A relative epsilon so ties from float noise count as ties.
        if stat(x, y) >= observed - 1e-12 * observed.abs().max(1.0) {
            hits += 1;
        }
    }
    (observed, (1 + hits) as f64 / (1 + rounds) as f64)
}

/// The permutation test with labels shuffled only within strata (`sa[i]`/`sb[i]` name the stratum
/// of `a[i]`/`b[i]`, e.g. the prompt template): each stratum keeps its own a/b counts, so what the
/// strata explain (one template makes longer answers) stays out of the null distribution and a
/// consistent within-stratum gap is found with fewer outputs. One stratum = the plain test.
pub fn stratified_permutation_test<T: Clone>(a: &[T], sa: &[usize], b: &[T], sb: &[usize], rounds: usize, seed: u64, stat: impl Fn(&[T], &[T]) -> f64) -> (f64, f64) {
    assert_eq!((a.len(), b.len()), (sa.len(), sb.len()), "one stratum per item");
    let observed = stat(a, b);
    let mut strata: std::collections::BTreeMap<usize, (Vec<T>, usize)> = std::collections::BTreeMap::new();
    for (x, &s) in a.iter().zip(sa) {
        let e = strata.entry(s).or_default();
        e.0.push(x.clone());
        e.1 += 1;
    }
    for (x, &s) in b.iter().zip(sb) {
        strata.entry(s).or_default().0.push(x.clone());
    }
    let mut rng = SplitMix::new(seed);
    let (mut x, mut y) = (Vec::with_capacity(a.len()), Vec::with_capacity(b.len()));
    let mut hits = 0usize;
    for _ in 0..rounds {
        x.clear();
        y.clear();
        for (pool, n_a) in strata.values_mut() {
            for i in (1..pool.len()).rev() {
                pool.swap(i, rng.below(i + 1));
            }
            x.extend_from_slice(&pool[..*n_a]);
            y.extend_from_slice(&pool[*n_a..]);
        }
        if stat(&x, &y) >= observed - 1e-12 * observed.abs().max(1.0) {
            hits += 1;
        }
    }
    (observed, (1 + hits) as f64 / (1 + rounds) as f64)
}

pub fn mean(x: &[f64]) -> f64 {
    if x.is_empty() {
        0.0
    } else {
        x.iter().sum::<f64>() / x.len() as f64
    }
}

/// |mean(a) - mean(b)|: the statistic for sentiment, refusal (0/1) and length gaps.
pub fn abs_mean_diff(a: &[f64], b: &[f64]) -> f64 {
    (mean(a) - mean(b)).abs()
}

/// Empirical distribution of labels as (label, probability), sorted by label.
pub fn distribution(labels: &[u32]) -> Vec<(u32, f64)> {
    let mut sorted = labels.to_vec();
    sorted.sort_unstable();
    let mut out: Vec<(u32, f64)> = Vec::new();
    for l in sorted {
        match out.last_mut() {
            Some((x, c)) if *x == l => *c += 1.0,
            _ => out.push((l, 1.0)),
        }
    }
    let n = labels.len().max(1) as f64;
    out.iter_mut().for_each(|(_, c)| *c /= n);
    out
}

fn aligned(a: &[u32], b: &[u32]) -> Vec<(f64, f64)> {
    let (da, db) = (distribution(a), distribution(b));
    let mut keys: Vec<u32> = da.iter().chain(&db).map(|&(k, _)| k).collect();
    keys.sort_unstable();
    keys.dedup();
    let get = |d: &[(u32, f64)], k: u32| d.iter().find(|&&(x, _)| x == k).map_or(0.0, |&(_, p)| p);
    keys.into_iter().map(|k| (get(&da, k), get(&db, k))).collect()
}

/// Total variation distance between the label distributions of a and b: in [0, 1].
pub fn total_variation(a: &[u32], b: &[u32]) -> f64 {
    0.5 * aligned(a, b).iter().map(|(p, q)| (p - q).abs()).sum::<f64>()
}

/// Jensen-Shannon divergence in bits between the label distributions: in [0, 1].
pub fn js_divergence(a: &[u32], b: &[u32]) -> f64 {
    let kl = |p: f64, m: f64| if p > 0.0 { p * (p / m).log2() } else { 0.0 };
    aligned(a, b)
        .iter()
        .map(|&(p, q)| {
            let m = 0.5 * (p + q);
            0.5 * kl(p, m) + 0.5 * kl(q, m)
        })
        .sum()
}

/// Holm's step-down adjustment of p-values (controls the family-wise error rate), in input order.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut idx: Vec<usize> = (0..m).collect();
    idx.sort_by(|&i, &j| p[i].total_cmp(&p[j]));
    let mut out = vec![0.0; m];
    let mut running = 0.0f64;
    for (rank, &i) in idx.iter().enumerate() {
        running = running.max(((m - rank) as f64 * p[i]).min(1.0));
        out[i] = running;
    }
    out
}
