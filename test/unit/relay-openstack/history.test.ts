/**
 * A server's state over a window (src/relay/openstack/history.ts), from the Nova API reference's
 * own instance-action samples and from hand-made histories: the state rules of docs/architecture.md §5.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ACTION_STATES,
  actionState,
  changedIntervals,
  type NovaActionFact,
  novaTime,
  type ServerFacts,
  statusState,
  unchangedIntervals,
} from '../../../src/relay/openstack/history.ts';

const sample = (name: string) =>
  (JSON.parse(readFileSync(new URL(`../../fixtures/openstack/nova/${name}`, import.meta.url), 'utf8')) as { instanceActions: NovaActionFact[] })
    .instanceActions;

const DAY = { from: Date.parse('2018-04-25T00:00:00Z'), to: Date.parse('2018-04-26T00:00:00Z') };
const server = (over: Partial<ServerFacts> = {}): ServerFacts => ({
  status: 'ACTIVE',
  created: '2018-04-25T01:26:25Z',
  updated: '2018-04-25T01:26:29Z',
  launchedAt: '2018-04-25T01:26:27.000000',
  terminatedAt: null,
  ...over,
});

describe('instance actions of the Nova API reference samples', () => {
  it.each([
    ['os-instance-actions_v2.58_instance-actions-list-resp.json', '2018-04-25T01:26:25.527Z', '2018-04-25T01:26:28.793Z'],
    ['os-instance-actions_v2.66_instance-actions-list-resp.json', '2018-04-25T01:26:33.692Z', '2018-04-25T01:26:36.036Z'],
    ['os-instance-actions_v2.21_instance-actions-list-resp.json', '2018-04-25T01:26:25.595Z', '2018-04-25T01:26:28.752Z'],
  ])('%s: ACTIVE from create, SHUTOFF from stop (newest-first order, naive UTC microseconds)', (file, create, stop) => {
    expect(changedIntervals(server({ status: 'SHUTOFF' }), sample(file), DAY)).toEqual([
      { start: create, end: stop, state: 'ACTIVE' },
      { start: stop, end: '2018-04-26T00:00:00.000Z', state: 'SHUTOFF' },
    ]);
  });

  it('a deleted sample server (2.21) ends at its terminated_at when it has no delete action', () => {
    const actions = sample('os-instance-actions_v2.21_instance-actions-list-resp.json');
    expect(changedIntervals(server({ status: 'DELETED', terminatedAt: '2018-04-25T06:00:00.000000' }), actions, DAY)).toEqual([
      { start: '2018-04-25T01:26:25.595Z', end: '2018-04-25T01:26:28.752Z', state: 'ACTIVE' },
      { start: '2018-04-25T01:26:28.752Z', end: '2018-04-25T06:00:00.000Z', state: 'SHUTOFF' },
    ]);
  });
});

describe('state rules', () => {
  const a = (action: string, time: string): NovaActionFact => ({ action, start_time: time });

  it('maps every action of docs/architecture.md §5 (and restore), and nothing else', () => {
    for (const action of [
      'create',
      'start',
      'reboot',
      'rebuild',
      'unpause',
      'resume',
      'unrescue',
      'rescue',
      'unshelve',
      'resize',
      'confirmResize',
      'revertResize',
      'migrate',
      'live-migration',
      'restore',
    ]) {
      expect(ACTION_STATES[action]).toBe('ACTIVE');
    }
    expect([
      ACTION_STATES.stop,
      ACTION_STATES.pause,
      ACTION_STATES.suspend,
      ACTION_STATES.shelve,
      ACTION_STATES.shelveOffload,
      ACTION_STATES.delete,
    ]).toEqual(['SHUTOFF', 'PAUSED', 'SUSPENDED', 'SHELVED', 'SHELVED', 'gone']);
    for (const other of ['attach_volume', 'createImage', 'lock', 'evacuate', 'constructor', 'toString', '__proto__']) {
      expect(actionState(other)).toBeUndefined();
    }
  });

  it('other actions leave the state as it was', () => {
    const intervals = changedIntervals(
      server(),
      [
        a('create', '2018-04-24T00:00:00'),
        a('stop', '2018-04-25T02:00:00'),
        a('createImage', '2018-04-25T03:00:00'),
        a('attach_interface', '2018-04-25T04:00:00'),
        a('lock', '2018-04-25T05:00:00'),
      ],
      DAY,
    );
    expect(intervals.map((i) => i.state)).toEqual(['ACTIVE', 'SHUTOFF']);
  });

  it('never takes launched_at as the start: a rebuild resets it, the server ran from create', () => {
    const s = server({ created: '2018-04-25T01:00:00Z', launchedAt: '2018-04-25T20:00:00.000000' });
    const intervals = changedIntervals(s, [a('create', '2018-04-25T01:00:00'), a('rebuild', '2018-04-25T19:59:00')], DAY);
    expect(intervals).toEqual([{ start: '2018-04-25T01:00:00.000Z', end: '2018-04-26T00:00:00.000Z', state: 'ACTIVE' }]);
  });

  it('a server that never launched held nothing (ERROR, BUILD, or deleted after either)', () => {
    for (const status of ['ERROR', 'BUILD', 'DELETED']) {
      const s = server({ status, launchedAt: null, terminatedAt: status === 'DELETED' ? '2018-04-25T03:00:00.000000' : null });
      expect(changedIntervals(s, [a('create', '2018-04-25T01:00:00'), a('delete', '2018-04-25T03:00:00')], DAY)).toEqual([]);
      expect(unchangedIntervals(s, DAY)).toEqual([]);
    }
  });

  it('a server unchanged since before the window is in its current status throughout', () => {
    const before = { updated: '2018-04-20T00:00:00Z', created: '2018-04-01T00:00:00Z' };
    const whole = (state: string) => [{ start: '2018-04-25T00:00:00.000Z', end: '2018-04-26T00:00:00.000Z', state }];
    expect(unchangedIntervals(server({ ...before, status: 'SHELVED_OFFLOADED' }), DAY)).toEqual(whole('SHELVED'));
    expect(unchangedIntervals(server({ ...before, status: 'VERIFY_RESIZE' }), DAY)).toEqual(whole('ACTIVE'));
    expect(unchangedIntervals(server({ ...before, status: 'SOFT_DELETED' }), DAY)).toEqual(whole('SHUTOFF'));
    expect(unchangedIntervals(server({ ...before, status: 'UNKNOWN' }), DAY)).toBeNull();
    expect(statusState('SOMETHING_NEW')).toBeNull();
  });

  it('after a delete only a restore brings a server back; a current soft delete holds resources', () => {
    const actions = [a('create', '2018-04-24T00:00:00'), a('delete', '2018-04-25T10:00:00'), a('reboot', '2018-04-25T11:00:00')];
    expect(changedIntervals(server({ status: 'DELETED', terminatedAt: '2018-04-25T10:00:01.000000' }), actions, DAY)).toEqual([
      { start: '2018-04-25T00:00:00.000Z', end: '2018-04-25T10:00:00.000Z', state: 'ACTIVE' },
    ]);
    expect(changedIntervals(server({ status: 'SOFT_DELETED' }), actions.slice(0, 2), DAY).map((i) => i.state)).toEqual(['ACTIVE', 'SHUTOFF']);
  });

  it('gives contiguous intervals clipped to the window, same states merged', () => {
    const intervals = changedIntervals(
      server(),
      [
        a('create', '2018-04-20T00:00:00'),
        a('reboot', '2018-04-25T01:00:00'),
        a('stop', '2018-04-25T02:00:00'),
        a('stop', '2018-04-25T03:00:00'),
        a('start', '2018-04-26T05:00:00'),
      ],
      DAY,
    );
    expect(intervals).toEqual([
      { start: '2018-04-25T00:00:00.000Z', end: '2018-04-25T02:00:00.000Z', state: 'ACTIVE' },
      { start: '2018-04-25T02:00:00.000Z', end: '2018-04-26T00:00:00.000Z', state: 'SHUTOFF' },
    ]);
  });

  it('reads Nova times with and without a zone, with microseconds', () => {
    expect(novaTime('2017-02-14T19:24:42Z')).toBe(Date.parse('2017-02-14T19:24:42Z'));
    expect(novaTime('2018-04-25T01:26:28.793416')).toBe(Date.parse('2018-04-25T01:26:28.793Z'));
    expect(novaTime('2018-04-25T01:26:28+02:00')).toBe(Date.parse('2018-04-24T23:26:28Z'));
    expect(novaTime(null)).toBeNaN();
    expect(novaTime('yesterday')).toBeNaN();
  });
});
