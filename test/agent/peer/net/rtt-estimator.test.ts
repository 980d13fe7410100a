import test from 'ava';
import { MAX_UNCHOKE_ANSWER_MS, RTT_ALPHA, RttEstimator } from '../../../../agent/peer/net/rtt-estimator.js';

test('a probe (request on an idle pipe) gives the first sample; later probes are smoothed like SRTT', (t) => {
  const rtt = new RttEstimator();
  rtt.probe(7, 1_000);
  t.true(rtt.onBlockStart(7, 1_000, 1_080));
  t.is(rtt.srttMs, 80);
  t.is(rtt.rttVarMs, 40);
  rtt.probe(9, 2_000);
  t.true(rtt.onBlockStart(9, 2_000, 2_160));
  t.is(rtt.srttMs, 80 + RTT_ALPHA * (160 - 80));
  t.is(rtt.samples, 2);
});

test('a pipelined request measures nothing unless it bounds the estimate from below', (t) => {
  const rtt = new RttEstimator();
  // Queued behind earlier blocks: request-to-block is the queue, not the round trip.
  t.false(rtt.onBlockStart(1, 0, 900));
  t.is(rtt.srttMs, undefined);
  rtt.probe(2, 1_000);
  rtt.onBlockStart(2, 1_000, 1_300);
  t.false(rtt.onBlockStart(3, 1_000, 1_900), 'longer than the estimate: queueing');
  t.is(rtt.srttMs, 300);
  t.true(rtt.onBlockStart(4, 2_000, 2_100), 'shorter: the round trip is at most this');
  t.true((rtt.srttMs ?? 0) < 300);
});

test('a probe re-requested later (after a reject) is not taken for the original', (t) => {
  const rtt = new RttEstimator();
  rtt.probe(5, 1_000);
  t.false(rtt.onBlockStart(5, 4_000, 4_500), 'same block, another request');
  t.is(rtt.srttMs, undefined);
  t.true(rtt.onBlockStart(5, 1_000, 1_050), 'the probe itself still counts');
  t.false(rtt.onBlockStart(5, 1_000, 1_060), 'once');
});

test('unchoke to first request measures a peer we only upload to', (t) => {
  const rtt = new RttEstimator();
  t.false(rtt.awaitingRequest);
  t.false(rtt.onRequest(100, false), 'no unchoke outstanding');
  rtt.unchoked(1_000);
  t.true(rtt.awaitingRequest);
  t.false(rtt.onRequest(1_010, true), 'an allowed-fast request may predate the unchoke');
  t.false(rtt.onRequest(1_070, false), 'and the peer was busy: what follows is no answer either');
  rtt.unchoked(2_000);
  t.true(rtt.onRequest(2_070, false));
  t.is(rtt.srttMs, 70);
  t.false(rtt.onRequest(2_090, false), 'only the first request answers the unchoke');
  rtt.unchoked(5_000);
  rtt.choked();
  t.false(rtt.onRequest(5_050, false), 'choked again before it asked');
  rtt.unchoked(9_000);
  t.false(rtt.onRequest(9_000 + MAX_UNCHOKE_ANSWER_MS + 1, false), 'not an answer to the unchoke');
  t.is(rtt.samples, 1);
});

test('nonsense samples count as zero, never as NaN', (t) => {
  const rtt = new RttEstimator();
  rtt.add(Number.NaN);
  rtt.add(-5);
  t.is(rtt.srttMs, 0);
});
