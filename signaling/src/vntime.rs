//! Local time of Vietnamese offices: Asia/Ho_Chi_Minh is UTC+7 all year (no daylight saving
//! since 1975), so a fixed offset is exact and needs no time-zone database.

use time::{OffsetDateTime, UtcOffset};

/// UTC+7.
const OFFSET_SECONDS: i32 = 7 * 3600;

fn local(ms: u64) -> Option<OffsetDateTime> {
    let utc = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()?;
    Some(utc.to_offset(UtcOffset::from_whole_seconds(OFFSET_SECONDS).ok()?))
}

/// `2026-12-07 18:40:05 +07:00`: the date and time as read in Hà Nội, with the offset.
pub fn stamp(ms: u64) -> String {
    local(ms)
        .map(|t| {
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02} +07:00",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            )
        })
        .unwrap_or_default()
}

/// `07/12/2026`: the date as Vietnamese documents write it.
pub fn date(ms: u64) -> String {
    local(ms)
        .map(|t| format!("{:02}/{:02}/{:04}", t.day(), u8::from(t.month()), t.year()))
        .unwrap_or_default()
}

/// `18:40`: the hour and minute.
pub fn clock(ms: u64) -> String {
    local(ms)
        .map(|t| format!("{:02}:{:02}", t.hour(), t.minute()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn late_evening_utc_is_the_next_morning_in_hanoi() {
        // 2026-12-31 17:30:00 UTC.
        let ms = 1_798_738_200_000;
        assert_eq!(stamp(ms), "2027-01-01 00:30:00 +07:00");
        assert_eq!(date(ms), "01/01/2027");
        assert_eq!(clock(ms), "00:30");
    }
}
