//! `ssot_id`: the stable identity of a managed note, a ULID (26 characters of Crockford base32:
//! 48 bits of milliseconds since 1970, then 80 random bits). Sortable by creation time, unique
//! without coordination, safe in file names and in every service's fields.

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A new ULID for the current time.
pub fn new_ulid() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let mut random = [0u8; 10];
    if getrandom::fill(&mut random).is_err() {
        // No OS randomness: fall back to the clock and the process, still unique in practice.
        let mut rng = crate::rng::Rng::new(crate::rng::time_seed());
        let (a, b) = (rng.next_u64().to_le_bytes(), rng.next_u64().to_le_bytes());
        random[..8].copy_from_slice(&a);
        random[8..].copy_from_slice(&b[..2]);
    }
    ulid_from(ms, random)
}

/// Encodes a ULID from its parts.
pub fn ulid_from(ms: u64, random: [u8; 10]) -> String {
    let mut value: u128 = u128::from(ms & 0xFFFF_FFFF_FFFF) << 80;
    for (i, b) in random.iter().enumerate() {
        value |= u128::from(*b) << (72 - 8 * i);
    }
    (0..26)
        .map(|i| ALPHABET[((value >> (125 - 5 * i)) & 0x1F) as usize] as char)
        .collect()
}

/// True for a well-formed ULID (upper case, as we write them; lower case is accepted too).
pub fn is_ulid(s: &str) -> bool {
    s.len() == 26
        && s.as_bytes()[0] <= b'7'
        && s.bytes()
            .all(|b| ALPHABET.contains(&b.to_ascii_uppercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed_and_sorted() {
        let a = new_ulid();
        assert!(is_ulid(&a), "{a}");
        assert_eq!(ulid_from(0, [0; 10]), "00000000000000000000000000");
        assert_eq!(
            ulid_from(u64::MAX, [0xFF; 10]),
            "7ZZZZZZZZZZZZZZZZZZZZZZZZZ"
        );
        assert!(ulid_from(1, [0; 10]) < ulid_from(2, [0; 10]));
        assert!(!is_ulid("8ZZZZZZZZZZZZZZZZZZZZZZZZZ"));
        assert!(!is_ulid("01HXYZ"));
        assert_ne!(new_ulid(), new_ulid());
    }
}
