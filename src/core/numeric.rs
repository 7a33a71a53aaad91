//! `sum`, `min` and `max`, with the rules and messages of denokv's SQLite
//! backend (what `Deno.openKv` runs): `KvU64` sums wrap modulo 2^64, and `sum`
//! also adds V8-encoded numbers or bigints, optionally clamped.

use denokv_proto::KvValue;
use num_bigint::BigInt;
use v8_valueserializer::{Heap, Value, ValueDeserializer, ValueSerializer};

use super::error::KvError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum U64Op {
    Min,
    Max,
}

impl U64Op {
    fn name(self) -> &'static str {
        match self {
            Self::Min => "min",
            Self::Max => "max",
        }
    }
}

/// Applies `min` or `max`; `current` is `None` when the key is missing.
pub fn min_max(op: U64Op, current: Option<&KvValue>, operand: &KvValue) -> Result<KvValue, KvError> {
    let operand = u64_operand(op.name(), operand)?;
    let result = match current {
        None => operand,
        Some(KvValue::U64(current)) => match op {
            U64Op::Min => operand.min(*current),
            U64Op::Max => operand.max(*current),
        },
        Some(_) => return Err(non_u64_in_database(op.name())),
    };
    Ok(KvValue::U64(result))
}

pub struct SumParams<'a> {
    pub operand: &'a KvValue,
    pub min_v8: &'a [u8],
    pub max_v8: &'a [u8],
    pub clamp: bool,
}

pub fn sum(current: Option<&KvValue>, params: SumParams<'_>) -> Result<KvValue, KvError> {
    if let KvValue::U64(operand) = params.operand {
        return match current {
            None => Ok(KvValue::U64(*operand)),
            Some(KvValue::U64(current)) => Ok(KvValue::U64(current.wrapping_add(*operand))),
            Some(_) => Err(non_u64_in_database("sum")),
        };
    }
    sum_v8(current, params)
}

fn u64_operand(op_name: &str, operand: &KvValue) -> Result<u64, KvError> {
    match operand {
        KvValue::U64(value) => Ok(*value),
        _ => Err(KvError::type_error(format!(
            "Failed to perform '{op_name}' mutation on a non-U64 operand"
        ))),
    }
}

fn non_u64_in_database(op_name: &str) -> KvError {
    KvError::type_error(format!(
        "Failed to perform '{op_name}' mutation on a non-U64 value in the database"
    ))
}

#[derive(Clone, Debug, PartialEq)]
enum SumOperand {
    BigInt(BigInt),
    Number(f64),
    KvU64(u64),
}

impl SumOperand {
    fn variant_name(&self) -> &'static str {
        match self {
            Self::BigInt(_) => "BigInt",
            Self::Number(_) => "Number",
            Self::KvU64(_) => "KvU64",
        }
    }

    /// `Ok(None)` for an empty V8 buffer, which means "no bound".
    fn parse_optional(value: &KvValue) -> Result<Option<Self>, KvError> {
        match value {
            KvValue::V8(bytes) if bytes.is_empty() => Ok(None),
            KvValue::V8(bytes) => {
                let (value, _) = ValueDeserializer::default()
                    .read(bytes)
                    .map_err(|_| KvError::type_error("invalid v8 value"))?;
                match value {
                    Value::BigInt(x) => Ok(Some(Self::BigInt(x))),
                    Value::Double(x) => Ok(Some(Self::Number(x))),
                    Value::I32(x) => Ok(Some(Self::Number(x as f64))),
                    Value::U32(x) => Ok(Some(Self::Number(x as f64))),
                    _ => Err(KvError::type_error("unsupported value type")),
                }
            }
            KvValue::U64(x) => Ok(Some(Self::KvU64(*x))),
            KvValue::Bytes(_) => Err(KvError::type_error("unsupported value type")),
        }
    }

    fn parse(value: &KvValue) -> Result<Self, KvError> {
        Self::parse_optional(value)?.ok_or_else(|| KvError::type_error("operand cannot be empty"))
    }

    fn encode(self) -> Result<KvValue, KvError> {
        let value = match self {
            Self::KvU64(x) => return Ok(KvValue::U64(x)),
            Self::BigInt(x) => Value::BigInt(x),
            Self::Number(x) => Value::Double(x),
        };
        ValueSerializer::default()
            .finish(&Heap::default(), &value)
            .map(KvValue::V8)
            .map_err(|err| KvError::type_error(err.to_string()))
    }
}

fn sum_v8(current: Option<&KvValue>, params: SumParams<'_>) -> Result<KvValue, KvError> {
    let parsed = (
        SumOperand::parse(params.operand),
        SumOperand::parse_optional(&KvValue::V8(params.min_v8.to_vec())),
        SumOperand::parse_optional(&KvValue::V8(params.max_v8.to_vec())),
    );
    let (Ok(operand), Ok(result_min), Ok(result_max)) = parsed else {
        return Err(KvError::type_error("Some of the parameters are not valid V8 values"));
    };
    let same_kind = |bound: &Option<SumOperand>| {
        bound
            .as_ref()
            .is_none_or(|b| std::mem::discriminant(b) == std::mem::discriminant(&operand))
    };
    if !same_kind(&result_min) || !same_kind(&result_max) {
        return Err(KvError::type_error(
            "Min/max parameters have different types than the operand",
        ));
    }

    let Some(current) = current else {
        return operand.encode();
    };
    let current = SumOperand::parse(current)?;

    // denokv keeps sum(KvU64, bigint) producing a KvU64 for older clients.
    let operand = match (&current, operand) {
        (SumOperand::KvU64(_), SumOperand::BigInt(x))
            if result_min.is_none() && result_max.is_none() && !params.clamp =>
        {
            match u64::try_from(&x) {
                Ok(x) => SumOperand::KvU64(x),
                Err(_) => SumOperand::BigInt(x),
            }
        }
        (_, operand) => operand,
    };

    let out_of_range = || KvError::type_error("The result of a Sum operation would exceed its range limit");
    let result = match (&current, &operand) {
        (SumOperand::BigInt(current), SumOperand::BigInt(operand)) => {
            let mut total = current + operand;
            if let Some(SumOperand::BigInt(min)) = &result_min {
                if total < *min {
                    if !params.clamp {
                        return Err(out_of_range());
                    }
                    total.clone_from(min);
                }
            }
            if let Some(SumOperand::BigInt(max)) = &result_max {
                if total > *max {
                    if !params.clamp {
                        return Err(out_of_range());
                    }
                    total.clone_from(max);
                }
            }
            SumOperand::BigInt(total)
        }
        (SumOperand::Number(current), SumOperand::Number(operand)) => {
            let mut total = current + operand;
            if let Some(SumOperand::Number(min)) = &result_min {
                if total < *min {
                    if !params.clamp {
                        return Err(out_of_range());
                    }
                    total = *min;
                }
            }
            if let Some(SumOperand::Number(max)) = &result_max {
                if total > *max {
                    if !params.clamp {
                        return Err(out_of_range());
                    }
                    total = *max;
                }
            }
            SumOperand::Number(total)
        }
        (SumOperand::KvU64(current), SumOperand::KvU64(operand)) => {
            if result_min.is_some() || result_max.is_some() {
                return Err(KvError::type_error("Cannot use min/max parameters with KvU64 operands"));
            }
            SumOperand::KvU64(current.wrapping_add(*operand))
        }
        _ => {
            return Err(KvError::type_error(format!(
                "Cannot sum {} with {}",
                current.variant_name(),
                operand.variant_name()
            )))
        }
    };
    result.encode()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v8(value: Value) -> KvValue {
        KvValue::V8(
            ValueSerializer::default()
                .finish(&Heap::default(), &value)
                .expect("serializable"),
        )
    }

    fn plain_sum(current: Option<&KvValue>, operand: &KvValue) -> Result<KvValue, KvError> {
        sum(
            current,
            SumParams {
                operand,
                min_v8: &[],
                max_v8: &[],
                clamp: false,
            },
        )
    }

    fn as_number(value: &KvValue) -> f64 {
        let KvValue::V8(bytes) = value else { panic!("not v8") };
        match ValueDeserializer::default().read(bytes).expect("parses").0 {
            Value::Double(x) => x,
            Value::I32(x) => x as f64,
            other => panic!("not a number: {other:?}"),
        }
    }

    #[test]
    fn u64_sum_wraps() {
        let result = plain_sum(Some(&KvValue::U64(u64::MAX)), &KvValue::U64(9)).expect("sums");
        assert!(matches!(result, KvValue::U64(8)));
    }

    #[test]
    fn missing_key_takes_operand() {
        assert!(matches!(plain_sum(None, &KvValue::U64(5)), Ok(KvValue::U64(5))));
        assert!(matches!(
            min_max(U64Op::Min, None, &KvValue::U64(5)),
            Ok(KvValue::U64(5))
        ));
    }

    #[test]
    fn min_and_max() {
        let current = KvValue::U64(10);
        assert!(matches!(
            min_max(U64Op::Min, Some(&current), &KvValue::U64(3)),
            Ok(KvValue::U64(3))
        ));
        assert!(matches!(
            min_max(U64Op::Max, Some(&current), &KvValue::U64(3)),
            Ok(KvValue::U64(10))
        ));
    }

    #[test]
    fn type_errors_carry_denos_messages() {
        let err = plain_sum(Some(&v8(Value::I32(1))), &KvValue::U64(1)).unwrap_err();
        assert_eq!(
            err.message,
            "Failed to perform 'sum' mutation on a non-U64 value in the database"
        );
        let err = min_max(U64Op::Min, None, &v8(Value::I32(1))).unwrap_err();
        assert_eq!(err.message, "Failed to perform 'min' mutation on a non-U64 operand");
        let err = plain_sum(Some(&v8(Value::I32(1))), &v8(Value::BigInt(1.into()))).unwrap_err();
        assert_eq!(err.message, "Cannot sum Number with BigInt");
        let err = plain_sum(Some(&KvValue::U64(1)), &v8(Value::I32(1))).unwrap_err();
        assert_eq!(err.message, "Cannot sum KvU64 with Number");
    }

    #[test]
    fn sums_numbers_and_bigints() {
        let total = plain_sum(Some(&v8(Value::Double(1.5))), &v8(Value::I32(2))).expect("sums");
        assert_eq!(as_number(&total), 3.5);
        let total = plain_sum(Some(&KvValue::U64(1)), &v8(Value::BigInt(2.into()))).expect("sums");
        assert!(matches!(total, KvValue::U64(3)));
    }
}
