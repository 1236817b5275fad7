//! The hall's grid, checked: which grid page the chair was shown (every `grid` message, with
//! its arrival time) and the source of every video packet the chair received, judged after the
//! run: per page, which sites' video arrived while it was shown and whether any other site's
//! did ([`judge`]).
//!
//! The chair learns of a new page from the `grid` message while the SFU re-points its slots
//! from the same change, so for a moment either can run ahead of the other: the old page's
//! video still in flight after the message, or the new page's before it. A packet from a site
//! shown on a page within [`GRACE_US`] of its arrival is a *transition* packet, counted and
//! timed apart. A packet that arrives later still but was *sent* while a page showed its site
//! (the synthetic payload carries its send time) was routed while it was due and then sat in a
//! queue: it is *late*, a latency figure. Any other site's video is *off-page*: routed while
//! no page showed the site, which a correct SFU never does.
//!
//! Pure apart from [`HallLog`]'s lock: the caller passes arrival times.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use serde::Serialize;

/// How long around a page change a site of the page before or after it may still (or already)
/// arrive: the SFU and the `grid` message follow the same change, a queue apart.
pub const GRACE_US: u64 = 1_000_000;

/// One `grid` message the chair received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    /// Arrival, [`crate::clock::micros`].
    pub at_us: u64,
    /// Page shown (from 0).
    pub page: u32,
    /// Pages there are.
    pub pages: u32,
    /// Tiles per page.
    pub page_size: u16,
    /// Sites on it (pinned first).
    pub sites: Vec<String>,
}

/// What the chair saw of its grid: written by its signaling loop and its receive tasks.
#[derive(Debug, Default)]
pub struct HallLog {
    inner: Mutex<Log>,
}

/// The raw record [`judge`] reads.
#[derive(Debug, Clone, Default)]
pub struct Log {
    /// Every `grid` message, in arrival order.
    pub shown: Vec<Shown>,
    /// Every video packet the chair received: (arrival, send time, source site index).
    pub video: Vec<(u64, u64, u16)>,
    /// `grid` requests the chair sent to turn the page (rotation).
    pub turns: u32,
}

impl HallLog {
    fn with<R>(&self, f: impl FnOnce(&mut Log) -> R) -> R {
        // A receive task that panicked mid-push leaves a whole log behind: keep using it.
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut g)
    }

    /// The chair received `grid`.
    pub fn shown(&self, s: Shown) {
        self.with(|l| l.shown.push(s));
    }

    /// The chair received at `at_us` a video packet that site `source` sent at `sent_us`.
    pub fn video(&self, at_us: u64, sent_us: u64, source: u16) {
        self.with(|l| l.video.push((at_us, sent_us, source)));
    }

    /// The chair asked for the next page.
    pub fn turned(&self) {
        self.with(|l| l.turns += 1);
    }

    /// The page the chair shows now, for its next rotation: (page, pages, page size).
    pub fn current(&self) -> Option<(u32, u32, u16)> {
        self.with(|l| l.shown.last().map(|s| (s.page, s.pages, s.page_size)))
    }

    /// A copy of the record.
    pub fn snapshot(&self) -> Log {
        self.with(|l| l.clone())
    }
}

/// The page after `page` of `pages`, back to the first after the last: what the web client's
/// rotation asks for (`web-client/js/grid-pages.js` `nextPage`).
pub fn next_page(page: u32, pages: u32) -> u32 {
    if pages <= 1 {
        0
    } else {
        (page + 1) % pages
    }
}

/// One page number over the run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PageFigures {
    /// Page (from 0).
    pub page: u32,
    /// `grid` messages that showed it.
    pub times_shown: u32,
    /// Seconds it was shown in all.
    pub shown_s: f64,
    /// Site indices it showed for at least [`GRACE_US`] in all, or whose video came while it
    /// showed them: a content shown for a moment (between the chair's revoke and grant, say)
    /// is no page a picture could come to.
    pub sites: Vec<u16>,
    /// Of those, the sites whose video arrived while it showed them.
    pub received: Vec<u16>,
    /// Video packets that arrived while it was shown, late: sent while an earlier page showed
    /// their site.
    pub late_packets: u64,
    /// Video packets of sites no page showed while they were on their way.
    pub off_page_packets: u64,
    /// Those sites.
    pub off_page_sites: Vec<u16>,
}

/// The hall's grid over a run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct GridFigures {
    /// Pages requested by rotation.
    pub turns: u32,
    /// `grid` messages received.
    pub messages: usize,
    /// Most pages there were at once.
    pub max_pages: u32,
    /// Tiles per page (last message).
    pub page_size: u16,
    /// Every page that was shown.
    pub pages: Vec<PageFigures>,
    /// Sites (not the chair) whose video the chair received on a page that showed them.
    pub sites_seen: usize,
    /// Sites in the meeting (not the chair).
    pub sites: usize,
    /// Video packets that arrived on a page that showed their site.
    pub on_page_packets: u64,
    /// Video packets of a site shown within the grace of a page change, not on the page
    /// current at arrival.
    pub transition_packets: u64,
    /// Video packets sent while a page showed their site that arrived more than the grace
    /// after it was replaced (queued on the way).
    pub late_packets: u64,
    /// Video packets of a site that no page showed between their sending and their arrival
    /// (give or take the grace).
    pub off_page_packets: u64,
    /// Latest arrival of a site's video after a page that no longer shows it replaced the
    /// last one that did (transition and late packets), ms.
    pub worst_late_ms: f64,
    /// Earliest arrival of a site's video before the page that shows it, ms.
    pub worst_early_ms: f64,
}

/// Judges `log` (the chair's record of a run). `roster[i]` is the site id of site index `i`
/// (0 the chair); `end_us` ends the last page. `None` when no `grid` message came (not a
/// diemcau hall).
pub fn judge(log: &Log, roster: &[String], end_us: u64) -> Option<GridFigures> {
    log.shown.first()?;
    let index: BTreeMap<&str, u16> = roster
        .iter()
        .enumerate()
        .map(|(i, s)| (s.as_str(), i as u16))
        .collect();
    let periods: Vec<(u64, u64, BTreeSet<u16>)> = log
        .shown
        .iter()
        .enumerate()
        .map(|(k, s)| {
            let until = log.shown.get(k + 1).map_or(end_us, |n| n.at_us);
            let sites = s
                .sites
                .iter()
                .filter_map(|id| index.get(id.as_str()).copied())
                .collect();
            (s.at_us, until.max(s.at_us), sites)
        })
        .collect();
    let mut pages: BTreeMap<u32, PageFigures> = BTreeMap::new();
    let mut shown_us: BTreeMap<(u32, u16), u64> = BTreeMap::new();
    for (s, (from, until, sites)) in log.shown.iter().zip(&periods) {
        let p = pages.entry(s.page).or_insert_with(|| PageFigures {
            page: s.page,
            times_shown: 0,
            shown_s: 0.0,
            sites: Vec::new(),
            received: Vec::new(),
            late_packets: 0,
            off_page_packets: 0,
            off_page_sites: Vec::new(),
        });
        p.times_shown += 1;
        p.shown_s += (until - from) as f64 / 1e6;
        for &site in sites {
            *shown_us.entry((s.page, site)).or_default() += until - from;
        }
    }
    for (&(page, site), &us) in &shown_us {
        if us >= GRACE_US {
            pages
                .get_mut(&page)
                .expect("every shown page")
                .sites
                .push(site);
        }
    }
    let mut seen = BTreeSet::new();
    let (mut on, mut transition, mut in_flight, mut off) = (0u64, 0u64, 0u64, 0u64);
    let (mut late, mut early) = (0u64, 0u64);
    for &(at, sent, src) in &log.video {
        // The period current at arrival; none before the first message.
        let next = periods.partition_point(|p| p.0 <= at);
        let current = next.checked_sub(1);
        if let Some(k) = current.filter(|&k| periods[k].2.contains(&src)) {
            on += 1;
            seen.insert(src);
            let page = log.shown[k].page;
            pages
                .get_mut(&page)
                .expect("every shown page")
                .received
                .push(src);
            continue;
        }
        // Shown by an earlier page that ended within the grace?
        let ended = periods[..current.unwrap_or(0)]
            .iter()
            .rev()
            .take_while(|p| p.1 + GRACE_US > at)
            .filter(|p| p.2.contains(&src))
            .map(|p| p.1)
            .max();
        // Or by a later page that began within the grace?
        let begins = periods[next..]
            .iter()
            .take_while(|p| p.0 < at + GRACE_US)
            .find(|p| p.2.contains(&src))
            .map(|p| p.0);
        // Or by an earlier page that was current at some moment of its way?
        let on_its_way = || {
            periods[..current.unwrap_or(0)]
                .iter()
                .rev()
                .take_while(|p| p.1 > sent)
                .find(|p| p.2.contains(&src))
                .map(|p| p.1)
        };
        // Charged to the page shown at arrival (the first before any).
        let page = log.shown[current.unwrap_or(0)].page;
        let p = pages.get_mut(&page).expect("every shown page");
        match (ended, begins) {
            (Some(e), _) => {
                transition += 1;
                late = late.max(at.saturating_sub(e));
            }
            (None, Some(b)) => {
                transition += 1;
                early = early.max(b.saturating_sub(at));
            }
            (None, None) => match on_its_way() {
                Some(e) => {
                    in_flight += 1;
                    late = late.max(at.saturating_sub(e));
                    p.late_packets += 1;
                }
                None => {
                    off += 1;
                    p.off_page_packets += 1;
                    p.off_page_sites.push(src);
                }
            },
        }
    }
    for p in pages.values_mut() {
        // A site whose video came on the page was shown, however briefly.
        let received = p.received.clone();
        p.sites.extend(received);
        for v in [&mut p.sites, &mut p.received, &mut p.off_page_sites] {
            v.sort_unstable();
            v.dedup();
        }
    }
    let last = log.shown.last().expect("not empty");
    Some(GridFigures {
        turns: log.turns,
        messages: log.shown.len(),
        max_pages: log.shown.iter().map(|s| s.pages).max().unwrap_or(0),
        page_size: last.page_size,
        pages: pages.into_values().collect(),
        sites_seen: seen.iter().filter(|&&s| s != 0).count(),
        sites: roster.len().saturating_sub(1),
        on_page_packets: on,
        transition_packets: transition,
        late_packets: in_flight,
        off_page_packets: off,
        worst_late_ms: late as f64 / 1000.0,
        worst_early_ms: early as f64 / 1000.0,
    })
}

/// Site indices as short ranges: `1–4, 7, 9–10`.
pub fn ranges(sites: &[u16]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < sites.len() {
        let mut j = i;
        while j + 1 < sites.len() && sites[j + 1] == sites[j] + 1 {
            j += 1;
        }
        out.push(if i == j {
            sites[i].to_string()
        } else {
            format!("{}–{}", sites[i], sites[j])
        });
        i = j + 1;
    }
    out.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000;

    fn roster(n: usize) -> Vec<String> {
        (0..=n).map(|i| format!("s{i}")).collect()
    }

    fn shown(at_us: u64, page: u32, sites: &[u16]) -> Shown {
        Shown {
            at_us,
            page,
            pages: 2,
            page_size: 2,
            sites: sites.iter().map(|i| format!("s{i}")).collect(),
        }
    }

    #[test]
    fn video_is_on_page_in_transition_or_off_page_by_what_was_shown_around_it() {
        let log = Log {
            shown: vec![shown(10 * S, 0, &[1, 2]), shown(20 * S, 1, &[3, 4])],
            video: vec![
                (11 * S, 11 * S, 1),                   // page 0 shows 1
                (12 * S, 12 * S, 2),                   // and 2
                (20 * S + 200_000, 20 * S, 1),         // page 0's, 200 ms after page 1 came
                (20 * S - 50_000, 20 * S - 60_000, 3), // page 1's, 50 ms before its message
                (21 * S, 21 * S, 3),                   // page 1 shows 3
                (15 * S, 15 * S, 4),                   // 4 while page 0 showed 1, 2: off page
                (22 * S, 21 * S, 2),                   // 2, sent 1 s after page 0 went: off
                (23 * S, 19 * S, 1),                   // 1, sent on page 0, 3 s queued: late
                (9 * S + 500_000, 9 * S, 1),           // before any page, 0.5 s before page 0
            ],
            turns: 1,
        };
        let g = judge(&log, &roster(4), 30 * S).unwrap();
        assert_eq!(g.on_page_packets, 3);
        assert_eq!(g.transition_packets, 3);
        assert_eq!(g.off_page_packets, 2);
        assert_eq!(g.late_packets, 1);
        assert_eq!(g.worst_late_ms, 3000.0, "the queued packet");
        assert_eq!(g.worst_early_ms, 500.0);
        assert_eq!(g.sites_seen, 3, "1, 2 on page 0 and 3 on page 1");
        let p0 = &g.pages[0];
        assert_eq!(
            (p0.page, p0.sites.clone(), p0.received.clone()),
            (0, vec![1, 2], vec![1, 2])
        );
        assert_eq!(
            (p0.off_page_packets, p0.off_page_sites.clone()),
            (1, vec![4])
        );
        let p1 = &g.pages[1];
        assert_eq!(
            (p1.sites.clone(), p1.received.clone()),
            (vec![3, 4], vec![3])
        );
        assert_eq!(
            (p1.off_page_packets, p1.off_page_sites.clone()),
            (1, vec![2])
        );
        assert_eq!((p0.late_packets, p1.late_packets), (0, 1));
        assert_eq!((p0.shown_s, p1.shown_s), (10.0, 10.0));
    }

    #[test]
    fn a_page_shown_twice_sums_its_time_and_its_sites() {
        let log = Log {
            shown: vec![
                shown(0, 0, &[1]),
                shown(S, 1, &[2]),
                shown(2 * S, 0, &[1, 4]), // for 5 ms: 4 is not shown
                shown(2 * S + 5_000, 0, &[1, 3]),
            ],
            video: vec![(2 * S + 10_000, 2 * S, 3)],
            turns: 2,
        };
        let g = judge(&log, &roster(4), 4 * S).unwrap();
        assert_eq!(g.pages.len(), 2);
        assert_eq!(g.pages[0].times_shown, 3);
        assert_eq!(g.pages[0].shown_s, 3.0);
        assert_eq!(g.pages[0].sites, vec![1, 3]);
        assert_eq!(g.pages[0].received, vec![3]);
        assert_eq!((g.turns, g.messages, g.max_pages, g.sites), (2, 4, 2, 4));
    }

    #[test]
    fn a_site_whose_video_came_in_a_moment_on_the_page_counts_as_shown() {
        let log = Log {
            shown: vec![
                shown(0, 0, &[1]),
                shown(S, 0, &[2]), // for 5 ms
                shown(S + 5_000, 0, &[1]),
            ],
            video: vec![(S + 2_000, S + 1_000, 2)],
            turns: 0,
        };
        let g = judge(&log, &roster(2), 3 * S).unwrap();
        assert_eq!(g.pages[0].sites, vec![1, 2]);
        assert_eq!(g.pages[0].received, vec![2]);
        assert_eq!(g.off_page_packets, 0);
    }

    #[test]
    fn without_a_grid_message_there_is_nothing_to_judge() {
        let log = Log {
            video: vec![(1, 1, 1)],
            ..Log::default()
        };
        assert_eq!(judge(&log, &roster(1), 10), None);
    }

    #[test]
    fn rotation_wraps_and_ranges_read_short() {
        assert_eq!(next_page(0, 3), 1);
        assert_eq!(next_page(2, 3), 0);
        assert_eq!(next_page(5, 1), 0);
        assert_eq!(ranges(&[1, 2, 3, 4, 7, 9, 10]), "1–4, 7, 9–10");
        assert_eq!(ranges(&[]), "");
    }
}
