//! Target file types (`--type`): a plain tensor type, or a K-quant preset that mixes types per tensor.
//! Numbers are llama.cpp's `llama_ftype`, stored in the output as `general.file_type`.

use kernels::GgmlType;
use serde::Serialize;

use crate::error::QuantizeError;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum FileType {
    F32,
    F16,
    BF16,
    Q8_0,
    Q6K,
    Q5_0,
    Q5_1,
    Q4_0,
    Q4_1,
    Q5KM,
    Q5KS,
    Q4KM,
    Q4KS,
    Q3KL,
    Q3KM,
    Q3KS,
    Q2K,
}

impl FileType {
    pub const ALL: [FileType; 17] = [
        Self::F32, Self::F16, Self::BF16, Self::Q8_0, Self::Q6K, Self::Q5_0, Self::Q5_1, Self::Q4_0, Self::Q4_1,
        Self::Q5KM, Self::Q5KS, Self::Q4KM, Self::Q4KS, Self::Q3KL, Self::Q3KM, Self::Q3KS, Self::Q2K,
    ];

    /// The name users type and llama.cpp prints (`Q4_K_M`).
    pub fn name(self) -> &'static str {
        match self {
            Self::F32 => "F32",
            Self::F16 => "F16",
            Self::BF16 => "BF16",
            Self::Q8_0 => "Q8_0",
            Self::Q6K => "Q6_K",
            Self::Q5_0 => "Q5_0",
            Self::Q5_1 => "Q5_1",
            Self::Q4_0 => "Q4_0",
            Self::Q4_1 => "Q4_1",
            Self::Q5KM => "Q5_K_M",
            Self::Q5KS => "Q5_K_S",
            Self::Q4KM => "Q4_K_M",
            Self::Q4KS => "Q4_K_S",
            Self::Q3KL => "Q3_K_L",
            Self::Q3KM => "Q3_K_M",
            Self::Q3KS => "Q3_K_S",
            Self::Q2K => "Q2_K",
        }
    }

    /// Case-insensitive; `Q4_K` and `Q5_K` mean the _M presets, `Q3_K` the _M one, as in llama.cpp.
    pub fn parse(s: &str) -> Result<FileType, QuantizeError> {
        let t = s.trim();
        let alias = match t.to_ascii_uppercase().as_str() {
            "Q4_K" => Some(Self::Q4KM),
            "Q5_K" => Some(Self::Q5KM),
            "Q3_K" => Some(Self::Q3KM),
            _ => None,
        };
        alias
            .or_else(|| Self::ALL.iter().copied().find(|f| f.name().eq_ignore_ascii_case(t)))
            .ok_or_else(|| QuantizeError::UnknownType {
                name: s.to_string(),
                known: Self::ALL.iter().map(|f| f.name()).collect::<Vec<_>>().join(", "),
            })
    }

    /// llama.cpp's `llama_ftype` number.
    pub fn llama_ftype(self) -> u32 {
        match self {
            Self::F32 => 0,
            Self::F16 => 1,
            Self::Q4_0 => 2,
            Self::Q4_1 => 3,
            Self::Q8_0 => 7,
            Self::Q5_0 => 8,
            Self::Q5_1 => 9,
            Self::Q2K => 10,
            Self::Q3KS => 11,
            Self::Q3KM => 12,
            Self::Q3KL => 13,
            Self::Q4KS => 14,
            Self::Q4KM => 15,
            Self::Q5KS => 16,
            Self::Q5KM => 17,
            Self::Q6K => 18,
            Self::BF16 => 32,
        }
    }

    /// The type most tensors get before the preset's per-tensor rules.
    pub fn default_type(self) -> GgmlType {
        match self {
            Self::F32 => GgmlType::F32,
            Self::F16 => GgmlType::F16,
            Self::BF16 => GgmlType::BF16,
            Self::Q8_0 => GgmlType::Q8_0,
            Self::Q6K => GgmlType::Q6K,
            Self::Q5_0 => GgmlType::Q5_0,
            Self::Q5_1 => GgmlType::Q5_1,
            Self::Q4_0 => GgmlType::Q4_0,
            Self::Q4_1 => GgmlType::Q4_1,
            Self::Q5KM | Self::Q5KS => GgmlType::Q5K,
            Self::Q4KM | Self::Q4KS => GgmlType::Q4K,
            Self::Q3KL | Self::Q3KM | Self::Q3KS => GgmlType::Q3K,
            Self::Q2K => GgmlType::Q2K,
        }
    }

    /// Float targets keep every weight's values; only the quantized ones get mixing rules.
    pub fn is_quantized(self) -> bool {
        !matches!(self, Self::F32 | Self::F16 | Self::BF16)
    }
}

/// Whether tensors of this type hold block-quantized values (re-quantizing them loses more).
pub fn is_quantized_type(t: GgmlType) -> bool {
    !matches!(t, GgmlType::F32 | GgmlType::F16 | GgmlType::BF16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_aliases() {
        for f in FileType::ALL {
            assert_eq!(FileType::parse(f.name()).unwrap(), f);
            assert_eq!(FileType::parse(&f.name().to_lowercase()).unwrap(), f);
        }
        assert_eq!(FileType::parse("q4_k").unwrap(), FileType::Q4KM);
        assert_eq!(FileType::Q4KM.llama_ftype(), 15);
        assert_eq!(FileType::BF16.llama_ftype(), 32);
    }

    #[test]
    fn unknown_type_lists_the_choices() {
        let e = FileType::parse("Q7_X").unwrap_err().to_string();
        assert!(e.contains("Q7_X") && e.contains("Q4_K_M") && e.contains("Q8_0"), "{e}");
    }
}
