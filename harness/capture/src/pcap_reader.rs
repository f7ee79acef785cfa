//! The capture reader: a pcap or pcapng file (ours, tshark's, tcpdump's) back to the
//! [`WireEvent`] sequence the tap would have recorded, via frame parsing and TCP reassembly.

use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use pcap_file::pcap::PcapParser;
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
use pcap_file::pcapng::{Block, PcapNgParser};
use pcap_file::{DataLink, PcapError};

use crate::error::{CaptureError, FrameProblem};
use crate::frame::{parse_frame, Frame, LinkType};
use crate::reassembly::TcpReassembler;
use crate::tap::{Transport, WireEvent, WireEventKind};

/// What a capture file holds, as wire events.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Capture {
    /// The events, in capture order (TCP data in sequence order).
    pub events: Vec<WireEvent>,
    /// Frames that could not be decoded and TCP gaps, in frame order.
    pub problems: Vec<FrameProblem>,
    /// How many packets the file holds.
    pub frames: u64,
}

const PCAPNG_MAGIC: [u8; 4] = [0x0A, 0x0D, 0x0D, 0x0A];

/// Reads a pcap or pcapng file.
pub fn read_capture(path: impl AsRef<Path>) -> Result<Capture, CaptureError> {
    let path = path.as_ref();
    let data = std::fs::read(path).map_err(|source| CaptureError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    read_capture_bytes(&data)
}

/// Reads a pcap or pcapng file held in memory.
pub fn read_capture_bytes(data: &[u8]) -> Result<Capture, CaptureError> {
    let mut state = State::default();
    if data.get(..4) == Some(&PCAPNG_MAGIC[..]) {
        read_pcapng(data, &mut state)?;
    } else {
        read_pcap(data, &mut state)?;
    }
    Ok(state.finish())
}

#[derive(Default)]
struct State {
    frames: u64,
    events: Vec<WireEvent>,
    problems: Vec<FrameProblem>,
    tcp: TcpReassembler,
}

impl State {
    fn frame(&mut self, link: Option<LinkType>, raw_link: DataLink, ts: Duration, data: &[u8]) {
        self.frames += 1;
        let n = self.frames;
        let Some(link) = link else {
            self.problems.push(FrameProblem {
                frame: n,
                problem: format!("link type {raw_link:?} is not supported"),
            });
            return;
        };
        let time = UNIX_EPOCH + ts;
        match parse_frame(link, data) {
            Ok(Frame::Udp { src, dst, payload }) => self.events.push(WireEvent {
                time,
                transport: Transport::Udp,
                src,
                dst,
                kind: WireEventKind::Data(payload),
            }),
            Ok(Frame::Tcp(seg)) => self.tcp.push(n, time, &seg, &mut self.events),
            Ok(Frame::Other) => {}
            Err(problem) => self.problems.push(FrameProblem { frame: n, problem }),
        }
    }

    fn finish(mut self) -> Capture {
        self.problems.extend(self.tcp.finish());
        self.problems.sort_by_key(|p| p.frame);
        Capture {
            events: self.events,
            problems: self.problems,
            frames: self.frames,
        }
    }
}

fn record_error(e: PcapError, frame: u64, offset: usize, remaining: usize) -> CaptureError {
    match e {
        PcapError::IncompleteBuffer => CaptureError::Truncated {
            frame,
            offset,
            remaining,
        },
        other => CaptureError::Format {
            frame,
            offset,
            problem: other.to_string(),
        },
    }
}

fn read_pcap(data: &[u8], state: &mut State) -> Result<(), CaptureError> {
    let (mut rest, parser) = PcapParser::new(data).map_err(|e| match e {
        PcapError::IncompleteBuffer => {
            CaptureError::NotACapture(format!("{} bytes, shorter than a pcap header", data.len()))
        }
        other => CaptureError::NotACapture(other.to_string()),
    })?;
    let header = parser.header();
    let link = LinkType::from_datalink(header.datalink);
    while !rest.is_empty() {
        let offset = data.len() - rest.len();
        let (rem, packet) = parser
            .next_packet(rest)
            .map_err(|e| record_error(e, state.frames + 1, offset, rest.len()))?;
        state.frame(link, header.datalink, packet.timestamp, &packet.data);
        rest = rem;
    }
    Ok(())
}

/// The timestamp of an enhanced packet block in real time: pcap-file reads the raw count as
/// nanoseconds, but its unit is the interface's if_tsresol (default 10^-6 s).
fn scale_timestamp(raw: Duration, tsresol: u8) -> Duration {
    let count = raw.as_nanos();
    let nanos: u128 = if tsresol & 0x80 == 0 {
        let exp = u32::from(tsresol);
        if exp <= 9 {
            count.saturating_mul(10u128.pow(9 - exp))
        } else {
            count / 10u128.pow((exp - 9).min(38))
        }
    } else {
        let exp = u32::from(tsresol & 0x7f).min(127);
        (count.saturating_mul(1_000_000_000)) >> exp
    };
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

fn read_pcapng(data: &[u8], state: &mut State) -> Result<(), CaptureError> {
    let (mut rest, mut parser) = PcapNgParser::new(data).map_err(|e| match e {
        PcapError::IncompleteBuffer => CaptureError::Truncated {
            frame: 0,
            offset: 0,
            remaining: data.len(),
        },
        other => CaptureError::NotACapture(other.to_string()),
    })?;
    while !rest.is_empty() {
        let offset = data.len() - rest.len();
        let (rem, block) = parser
            .next_block(rest)
            .map_err(|e| record_error(e, state.frames + 1, offset, rest.len()))?;
        match block {
            Block::EnhancedPacket(epb) => {
                let (datalink, tsresol) = match parser.packet_interface(&epb) {
                    Some(idb) => {
                        let resol = idb
                            .options
                            .iter()
                            .find_map(|o| match o {
                                InterfaceDescriptionOption::IfTsResol(r) => Some(*r),
                                _ => None,
                            })
                            .unwrap_or(6);
                        (idb.linktype, resol)
                    }
                    None => {
                        return Err(CaptureError::Format {
                            frame: state.frames + 1,
                            offset,
                            problem: format!("no interface {} described", epb.interface_id),
                        })
                    }
                };
                let ts = scale_timestamp(epb.timestamp, tsresol);
                state.frame(LinkType::from_datalink(datalink), datalink, ts, &epb.data);
            }
            Block::SimplePacket(spb) => {
                let datalink = parser
                    .interfaces()
                    .first()
                    .map(|i| i.linktype)
                    .unwrap_or(DataLink::ETHERNET);
                // A simple packet block has no timestamp.
                state.frame(
                    LinkType::from_datalink(datalink),
                    datalink,
                    Duration::ZERO,
                    &spb.data,
                );
            }
            _ => {}
        }
        rest = rem;
    }
    Ok(())
}
