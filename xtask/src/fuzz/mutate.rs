//! The mutator: turns a seed file into a nearby malformed one, driven by `arbitrary`'s
//! `Unstructured` bytes (so arbtest can replay and shrink a failure from its seed). Byte
//! flips, interesting integers written over header fields, truncation, splices, deletions,
//! insertions and, for text formats, tokens that break parsers (huge numbers, NaN, quotes,
//! separators, braces).

use arbitrary::{Result, Unstructured};

/// Integers that sit on the edges readers get wrong, as 4 big- or little-endian bytes.
const INTERESTING: [u32; 9] = [
    0,
    1,
    0x7f,
    0xff,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x1000_0000,
    0x0001_0000,
];

/// Text that breaks parsers of CSV, JSON and line formats.
const TOKENS: [&str; 14] = [
    "-1",
    "1e308",
    "-1e308",
    "NaN",
    "inf",
    "\"",
    "\n",
    ",",
    "{",
    "}",
    "[",
    "99999999999999999999",
    "\u{feff}",
    "\0",
];

/// A mutation of `seed` (or, one time in 32, bytes with no seed at all).
pub fn mutate(seed: &[u8], u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
    if u.ratio(1, 32)? {
        return Ok(u.arbitrary::<Vec<u8>>()?);
    }
    let mut data = seed.to_vec();
    for _ in 0..u.int_in_range(1..=8)? {
        apply_one(&mut data, u)?;
    }
    Ok(data)
}

/// One random edit of `data`.
fn apply_one(data: &mut Vec<u8>, u: &mut Unstructured<'_>) -> Result<()> {
    let len = data.len();
    let at = |u: &mut Unstructured<'_>| -> Result<usize> { u.int_in_range(0..=len) };
    match u.int_in_range(0..=7)? {
        0 if len > 0 => {
            let i = u.int_in_range(0..=len - 1)?;
            data[i] ^= 1 << u.int_in_range(0..=7)?;
        }
        1 if len >= 4 => {
            let i = u.int_in_range(0..=len - 4)?;
            let v = *u.choose(&INTERESTING)?;
            let bytes = if u.arbitrary()? {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            };
            data[i..i + 4].copy_from_slice(&bytes);
        }
        2 => data.truncate(at(u)?),
        3 if len > 0 => {
            let (a, b) = (at(u)?, at(u)?);
            let chunk = data[a.min(b)..a.max(b)].to_vec();
            let i = at(u)?;
            data.splice(i..i, chunk);
        }
        4 => {
            let (a, b) = (at(u)?, at(u)?);
            data.drain(a.min(b)..a.max(b));
        }
        5 => {
            let i = at(u)?;
            let token = u.choose(&TOKENS)?.as_bytes().to_vec();
            data.splice(i..i, token);
        }
        6 => {
            let i = at(u)?;
            let extra: Vec<u8> = u.arbitrary()?;
            data.splice(i..i, extra.into_iter().take(64));
        }
        _ if len > 0 => {
            let i = u.int_in_range(0..=len - 1)?;
            data[i] = *u.choose(&[0u8, 0xff, 0x7f, 0x80, b'0', b'9'])?;
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_differ_from_the_seed_and_replay() {
        let seed = b"a,b,c\n1,2,3\n".to_vec();
        let noise: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let run = || {
            let mut u = Unstructured::new(&noise);
            (0..50)
                .map(|_| mutate(&seed, &mut u).unwrap())
                .collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run(), "the same bytes give the same mutations");
        assert!(a.iter().filter(|m| **m != seed).count() > 40);
    }
}
