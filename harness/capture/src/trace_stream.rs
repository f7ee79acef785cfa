//! The streaming trace: a capture read record by record and decoded as it goes, so a capture of
//! any length is judged in memory bounded by its open connections.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::time::SystemTime;

use cpmconf_codec::Limits;

use crate::error::{CaptureError, FrameProblem};
use crate::pcap_reader::{CaptureEvent, CaptureReader, ReaderStats};
use crate::trace::{StreamEnd, Trace, TraceBuilder, TraceEntry};

/// One item of a streaming trace, in capture order.
// Entries are the common item; boxing them would cost an allocation per message.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum TraceItem {
    /// A decoded message (or undecodable bytes). Indexes count from 0 without holes.
    Entry(TraceEntry),
    /// A frame that could not be decoded, or a TCP gap.
    Problem(FrameProblem),
    /// A side closed its TCP connection (a FIN), after the entries given before it.
    End(StreamEnd),
}

/// What a [`TraceStream`] holds right now: the reader's state plus the decoder's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// The capture reader's state.
    pub reader: ReaderStats,
    /// TCP directions with decoding state.
    pub open_streams: usize,
    /// Bytes of unfinished messages held by the decoder.
    pub decoder_buffered_bytes: usize,
    /// Bytes after an undecodable message that were counted, not kept.
    pub dropped_bytes: u64,
}

impl StreamStats {
    /// Every byte held for open state (TCP behind gaps, unfinished messages, the read buffer).
    pub fn retained_bytes(&self) -> usize {
        self.reader.tcp_buffered_bytes + self.decoder_buffered_bytes + self.reader.read_buffer_bytes
    }
}

/// A capture decoded incrementally: an iterator of [`TraceItem`]s. Same decoding as
/// [`crate::Trace::from_pcap`], except that the bytes a TCP stream sends after its first
/// undecodable message are counted ([`StreamStats::dropped_bytes`]) instead of appended to
/// that entry. After an `Err` the iterator ends.
///
/// ```no_run
/// use cpmconf_capture::{TraceItem, TraceStream};
/// for item in TraceStream::open("capture.pcapng")? {
///     match item? {
///         TraceItem::Entry(entry) => println!("{} {:?}", entry.index, entry.sip().map(|m| m.to_bytes().len())),
///         TraceItem::Problem(p) => eprintln!("{p}"),
///         TraceItem::End(end) => println!("{} closed its side", end.src),
///     }
/// }
/// # Ok::<(), cpmconf_capture::CaptureError>(())
/// ```
#[derive(Debug)]
pub struct TraceStream<R> {
    reader: CaptureReader<R>,
    builder: TraceBuilder,
    queue: std::collections::VecDeque<TraceItem>,
    finished: bool,
}

impl TraceStream<BufReader<File>> {
    /// Opens a capture file with default decoding limits.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, CaptureError> {
        Ok(Self::new(CaptureReader::open(path)?, Limits::default()))
    }
}

impl<R: Read> TraceStream<R> {
    /// Decodes what `reader` reads.
    pub fn new(reader: CaptureReader<R>, limits: Limits) -> Self {
        TraceStream {
            reader,
            builder: TraceBuilder::new(limits),
            queue: std::collections::VecDeque::new(),
            finished: false,
        }
    }

    /// Time of the first event (the origin of the wire log's time offsets).
    pub fn start(&self) -> Option<SystemTime> {
        self.builder.start()
    }

    /// What is held right now.
    pub fn stats(&self) -> StreamStats {
        StreamStats {
            reader: self.reader.stats(),
            open_streams: self.builder.open_streams(),
            decoder_buffered_bytes: self.builder.buffered_bytes(),
            dropped_bytes: self.builder.dropped_bytes(),
        }
    }

    fn take_entries(&mut self) {
        // Most events complete one entry or none: push them one by one (extending the queue
        // from an iterator costs more than the entry).
        for e in self.builder.take() {
            self.queue.push_back(TraceItem::Entry(e));
        }
        for end in self.builder.take_ends() {
            self.queue.push_back(TraceItem::End(end));
        }
    }
}

impl<R: Read> Iterator for TraceStream<R> {
    type Item = Result<TraceItem, CaptureError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.queue.pop_front() {
                return Some(Ok(item));
            }
            if self.finished {
                return None;
            }
            match self.reader.next() {
                Some(Ok(CaptureEvent::Wire(ev))) => self.builder.push(&ev),
                Some(Ok(CaptureEvent::Gap(gap))) => self.builder.gap(&gap),
                Some(Ok(CaptureEvent::Problem(p))) => {
                    // Entries completed before the problem come first.
                    self.take_entries();
                    self.queue.push_back(TraceItem::Problem(p));
                    continue;
                }
                Some(Err(e)) => {
                    self.finished = true;
                    return Some(Err(e));
                }
                None => {
                    self.finished = true;
                    self.builder.finish();
                }
            }
            self.take_entries();
        }
    }
}

/// The items of a capture, in order, from its start.
pub type Items<'a> = Box<dyn Iterator<Item = Result<TraceItem, CaptureError>> + 'a>;

/// A capture that can be read from its start as often as needed: a file read by a
/// [`TraceStream`] each time (memory bounded by its open connections), or a [`Trace`] held in
/// memory. A judge that must look ahead without keeping what it passes reads it again.
pub trait CaptureItems {
    /// The capture's items from the start: each entry, and each TCP close after the entries
    /// before it; problems where the reader finds them (a [`Trace`]: at the end).
    fn items(&self) -> Result<Items<'_>, CaptureError>;
    /// Time of the capture's first event (the origin of the wire log's and the ladder's time
    /// offsets); `None` for an empty capture.
    fn start(&self) -> Result<Option<SystemTime>, CaptureError>;
}

/// A capture file, read as a [`TraceStream`] each time it is asked for its items.
#[derive(Debug, Clone)]
pub struct CaptureFile(pub std::path::PathBuf);

impl CaptureItems for CaptureFile {
    fn items(&self) -> Result<Items<'_>, CaptureError> {
        Ok(Box::new(TraceStream::open(&self.0)?))
    }

    fn start(&self) -> Result<Option<SystemTime>, CaptureError> {
        // The first event read (a frame that cannot be decoded is none).
        let mut stream = TraceStream::open(&self.0)?;
        while stream.start().is_none() {
            match stream.next() {
                Some(Err(e)) => return Err(e),
                Some(Ok(_)) => {}
                None => break,
            }
        }
        Ok(stream.start())
    }
}

impl CaptureItems for Trace {
    fn items(&self) -> Result<Items<'_>, CaptureError> {
        let mut ends = self.ends.iter().peekable();
        let mut entries = self.entries.iter();
        let mut problems = self.problems.iter();
        Ok(Box::new(std::iter::from_fn(move || {
            let next = entries.as_slice().first().map_or(usize::MAX, |e| e.index);
            if let Some(end) = ends.next_if(|x| x.after <= next) {
                return Some(Ok(TraceItem::End(*end)));
            }
            if let Some(e) = entries.next() {
                return Some(Ok(TraceItem::Entry(e.clone())));
            }
            problems.next().map(|p| Ok(TraceItem::Problem(p.clone())))
        })))
    }

    fn start(&self) -> Result<Option<SystemTime>, CaptureError> {
        Ok(self.start)
    }
}
