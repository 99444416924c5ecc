//! A delaying TCP proxy for the latency benchmark (`bench/latency.sh`): this kernel has no netem, and loopback
//! hides the round trips that cost 10-40 ms each between a forwarder and Denmark.
//!
//! It listens on `--listen` (another loopback address, e.g. 127.0.0.2) on each of `--ports` (the FTP control
//! port and the passive range) and forwards every connection to the same port on `--upstream`. Every byte
//! is held back `--delay-ms` in each direction, so a request and its reply cost one round trip of twice that.
//! A new connection costs a round trip as well (SYN, SYN-ACK): the onward connection is opened one round trip
//! after the accept, and what the client sent meanwhile follows it with the one-way delay; otherwise new data
//! connections would look free, and FTP opens one per transfer.
//!
//! FTP clients must ignore the address in the 227 reply (it names the upstream address): skat-gateway always
//! does, curl does by default, lftp needs `set ftp:ignore-pasv-address true`.
//!
//! ```sh
//! cargo run --release --example latency_proxy -- --listen 127.0.0.2 --upstream 127.0.0.1 \
//!     --ports 21000,21001-21010 --delay-ms 10
//! ```
//! It prints `ready` once every port listens and runs until killed.

use std::io::{Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

struct Options {
    listen: IpAddr,
    upstream: IpAddr,
    ports: Vec<u16>,
    delay: Duration,
}

fn usage(problem: &str) -> ! {
    eprintln!(
        "latency_proxy: {problem}\nusage: latency_proxy --listen ADDR --upstream ADDR --ports P[,FIRST-LAST...] --delay-ms MS"
    );
    std::process::exit(2)
}

fn parse_ports(text: &str) -> Vec<u16> {
    let port = |p: &str| p.trim().parse::<u16>().unwrap_or_else(|_| usage(&format!("{p:?} is not a port")));
    text.split(',')
        .flat_map(|part| match part.split_once('-') {
            Some((first, last)) => (port(first)..=port(last)).collect::<Vec<_>>(),
            None => vec![port(part)],
        })
        .collect()
}

fn options() -> Options {
    let mut args = std::env::args().skip(1);
    let (mut listen, mut upstream, mut ports, mut delay) = (None, None, Vec::new(), None);
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        let address = |v: &str| v.parse::<IpAddr>().unwrap_or_else(|_| usage(&format!("{v:?} is not an IP address")));
        match flag.as_str() {
            "--listen" => listen = Some(address(&value)),
            "--upstream" => upstream = Some(address(&value)),
            "--ports" => ports = parse_ports(&value),
            "--delay-ms" => {
                delay = Some(Duration::from_millis(value.parse().unwrap_or_else(|_| usage("--delay-ms takes milliseconds"))))
            }
            _ => usage(&format!("unknown option {flag}")),
        }
    }
    Options {
        listen: listen.unwrap_or_else(|| usage("--listen is needed")),
        upstream: upstream.unwrap_or_else(|| usage("--upstream is needed")),
        ports: if ports.is_empty() { usage("--ports is needed") } else { ports },
        delay: delay.unwrap_or_else(|| usage("--delay-ms is needed")),
    }
}

fn main() {
    let options = options();
    let mut listeners = Vec::new();
    for &port in &options.ports {
        let address = SocketAddr::new(options.listen, port);
        let listener = TcpListener::bind(address).unwrap_or_else(|e| {
            eprintln!("latency_proxy: cannot listen on {address}: {e}");
            std::process::exit(1)
        });
        listeners.push((listener, SocketAddr::new(options.upstream, port)));
    }
    let delay = options.delay;
    let threads: Vec<_> = listeners
        .into_iter()
        .map(|(listener, upstream)| {
            thread::spawn(move || {
                for client in listener.incoming().flatten() {
                    thread::spawn(move || relay(client, upstream, delay));
                }
            })
        })
        .collect();
    println!("ready");
    let _ = std::io::stdout().flush();
    for thread in threads {
        let _ = thread.join();
    }
}

/// One proxied connection: the onward connect one round trip after the accept, then both directions delayed.
fn relay(client: TcpStream, upstream: SocketAddr, delay: Duration) {
    thread::sleep(2 * delay);
    let Ok(server) = TcpStream::connect(upstream) else {
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    for stream in [&client, &server] {
        let _ = stream.set_nodelay(true);
    }
    let (Ok(client2), Ok(server2)) = (client.try_clone(), server.try_clone()) else { return };
    let up = thread::spawn(move || pump(client, server2, delay));
    pump(server, client2, delay);
    let _ = up.join();
}

/// Copies `from` to `to`, each chunk written `delay` after it was read, in order. An end of stream is passed
/// on (as a half close) after the same delay; an error closes both.
fn pump(mut from: TcpStream, mut to: TcpStream, delay: Duration) {
    let (queue, chunks) = mpsc::channel::<(Instant, Option<Vec<u8>>)>();
    let writer = {
        let from = from.try_clone().ok();
        thread::spawn(move || {
            for (due, chunk) in chunks {
                let wait = due.saturating_duration_since(Instant::now());
                if !wait.is_zero() {
                    thread::sleep(wait);
                }
                match chunk {
                    Some(bytes) if to.write_all(&bytes).is_ok() => {}
                    Some(_) => {
                        let _ = to.shutdown(Shutdown::Both);
                        if let Some(from) = &from {
                            let _ = from.shutdown(Shutdown::Both);
                        }
                        return;
                    }
                    None => {
                        let _ = to.shutdown(Shutdown::Write);
                        return;
                    }
                }
            }
        })
    };
    let mut buffer = vec![0u8; 256 * 1024];
    loop {
        match from.read(&mut buffer) {
            Ok(0) | Err(_) => {
                let _ = queue.send((Instant::now() + delay, None));
                break;
            }
            Ok(n) => {
                if queue.send((Instant::now() + delay, Some(buffer[..n].to_vec()))).is_err() {
                    break;
                }
            }
        }
    }
    drop(queue);
    let _ = writer.join();
}
