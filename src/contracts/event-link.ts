import { z } from '@hono/zod-openapi';
import { inYearRange, YEAR_RANGE_MESSAGE } from './safe-text.ts';
import { DAY_MS } from '../lib/utc-day.ts';

/**
 * Link mapping (docs/architecture.md §4): one link per usage event, tying it to a user, a project and an
 * allocation of the allocation system. The wire shapes of the link routes; the link table takes its
 * status and reason types from here.
 */

export const LINK_STATUSES = ['resolved', 'partial', 'unresolved', 'manual'] as const;
export type LinkStatus = (typeof LINK_STATUSES)[number];

/** The part of a link a reason is about. */
export const LINK_PARTS = ['user', 'project', 'allocation'] as const;
export type LinkPart = (typeof LINK_PARTS)[number];

/**
 * Why a part of a link is unresolved: every reason code, the part it is about, and what it means
 * and what to do. The one table: the mapping SQL writes these codes, the operator page shows these
 * meanings, /openapi.json lists them. Each stored reason's `detail` adds the values involved.
 */
export const LINK_REASONS = {
  no_user_identity: {
    part: 'user',
    meaning: 'the event’s identities include no oidc_sub, user_email, perun_username or perun_user (an event with no identity at all needs no user)',
  },
  user_not_found: { part: 'user', meaning: 'no user matches the identities: add the user, then re-run mapping' },
  /** The whole link is then `unresolved`. */
  identity_conflict: { part: 'user', meaning: 'the identities name two or more different users' },
  no_project: { part: 'project', meaning: 'the event names no project nor openstack_project_id' },
  project_not_found: { part: 'project', meaning: 'no project has that name: add it, then re-run mapping' },
  default_project_needs_user: { part: 'project', meaning: '_pbs_project_default, and the user is not resolved' },
  no_default_project: { part: 'project', meaning: '_pbs_project_default, and the user has no default project' },
  openstack_project_not_found: { part: 'project', meaning: 'no OpenStack GitOps allocation names that OpenStack project' },
  openstack_project_ambiguous: { part: 'project', meaning: 'GitOps allocations of several projects name that OpenStack project' },
  allocation_needs_project: { part: 'allocation', meaning: 'no project to take an allocation from' },
  no_allocation_at_time: { part: 'allocation', meaning: 'the project has no hpc allocation valid at the event’s time' },
} as const satisfies Record<string, { part: LinkPart; meaning: string }>;
export type ReasonCode = keyof typeof LINK_REASONS;
export const REASON_CODES = Object.keys(LINK_REASONS) as [ReasonCode, ...ReasonCode[]];

export const LinkReasonSchema = z
  .object({
    part: z.enum(LINK_PARTS),
    code: z.enum(REASON_CODES).openapi({
      description: REASON_CODES.map((code) => `\`${code}\` (${LINK_REASONS[code].part}): ${LINK_REASONS[code].meaning}`).join('; '),
    }),
    detail: z.string().openapi({ example: "no user has perun_username 'bob'; add the user, then re-run mapping" }),
  })
  .openapi('LinkReason');
export type LinkReason = z.infer<typeof LinkReasonSchema>;

const Timestamp = z.string().openapi({ example: '2025-11-19T00:00:00Z' });

export const EventLinkSchema = z
  .object({
    event_id: z.uuid(),
    /** The event's time_window_start. */
    event_time: Timestamp,
    user_id: z.uuid().nullable(),
    project_id: z.uuid().nullable(),
    allocation_id: z.uuid().nullable(),
    status: z.enum(LINK_STATUSES),
    reasons: z.array(LinkReasonSchema),
    rule_version: z.number().int(),
    /** When the link last changed (a re-run that changes nothing keeps it). */
    mapped_at: Timestamp,
    /** Why an operator set a manual link. */
    note: z.string().nullable(),
  })
  .openapi('EventLink');
export type EventLink = z.infer<typeof EventLinkSchema>;

export const EventIdParamSchema = z.object({
  event_id: z.uuid().openapi({ param: { name: 'event_id', in: 'path' }, example: '0b9c7f64-4a9e-4f43-9d0a-2f5a0c9d2c11' }),
});

export const ManualLinkRequestSchema = EventLinkSchema.pick({ user_id: true, project_id: true, allocation_id: true })
  .partial()
  .extend({ note: z.string().min(1).max(1000).optional() })
  .refine((b) => b.user_id || b.project_id || b.allocation_id, {
    message: 'name at least one of user_id, project_id, allocation_id',
  })
  .openapi('ManualLinkRequest', {
    description: 'Ids left out are null in the manual link. An allocation without a project sets its project.',
  });
export type ManualLinkRequest = z.infer<typeof ManualLinkRequestSchema>;

export const UNRESOLVED_STATUSES = ['unresolved', 'partial'] as const;
export const MAX_PAGE_SIZE = 500;

export const UnresolvedQuerySchema = z.object({
  status: z.enum(UNRESOLVED_STATUSES).optional().openapi({ description: 'Only this status; both when left out' }),
  from: z.iso
    .datetime({ offset: true })
    .refine(inYearRange, YEAR_RANGE_MESSAGE)
    .optional()
    .openapi({ description: 'Only events whose time_window_start is at or after this' }),
  to: z.iso
    .datetime({ offset: true })
    .refine(inYearRange, YEAR_RANGE_MESSAGE)
    .optional()
    .openapi({ description: 'Only events whose time_window_start is before this' }),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(100),
  cursor: z.string().max(200).optional().openapi({ description: 'next_cursor of the previous page' }),
});

export const UnresolvedPageSchema = z
  .object({
    links: z.array(EventLinkSchema),
    next_cursor: z.string().nullable().openapi({ description: 'Pass as cursor for the next page; null on the last page' }),
  })
  .openapi('UnresolvedLinks');
export type UnresolvedPage = z.infer<typeof UnresolvedPageSchema>;

/** Most days one re-run request may cover (one queue message per UTC day). */
export const MAX_REMAP_DAYS = 366;

const RFC3339 = z.iso.datetime({ offset: true, error: 'must be an RFC 3339 date-time with an offset' }).refine(inYearRange, YEAR_RANGE_MESSAGE);

export const RemapRequestSchema = z
  .object({
    from: RFC3339.openapi({ example: '2025-11-01T00:00:00Z' }),
    to: RFC3339.openapi({ example: '2025-12-01T00:00:00Z' }),
  })
  .refine((r) => Date.parse(r.to) > Date.parse(r.from), { path: ['to'], message: 'must be after from' })
  .refine((r) => Date.parse(r.to) - Date.parse(r.from) <= MAX_REMAP_DAYS * DAY_MS, {
    path: ['to'],
    message: `the range may span at most ${MAX_REMAP_DAYS} days`,
  })
  .openapi('RemapRequest', { description: 'Events whose time_window_start is in [from, to).' });
export type RemapRequest = z.infer<typeof RemapRequestSchema>;

export const RemapResponseSchema = z
  .object({
    from: z.string(),
    to: z.string(),
    messages: z.number().int().openapi({ description: 'Queue messages sent (one per UTC day of the range)' }),
  })
  .openapi('RemapAccepted');
export type RemapResponse = z.infer<typeof RemapResponseSchema>;

/**
 * The part of an OpenStack GitOps allocation's payload that mapping reads: the OpenStack project
 * it grants (id and, often prefixed, name). Other payload keys are kept as sent.
 */
export const OpenStackAllocationPayloadSchema = z
  .looseObject({
    openstack: z.looseObject({
      project_id: z.string().min(1),
      project_name: z.string().min(1),
    }),
  })
  .openapi('OpenStackAllocationPayload');
export type OpenStackAllocationPayload = z.infer<typeof OpenStackAllocationPayloadSchema>;
