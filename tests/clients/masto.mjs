// A real Mastodon client library (masto.js) against a running chorusd, the way
// an app uses it: discover the streaming URL from the instance, open the
// streaming connection, then post, follow, mention and delete over REST and see
// the events arrive; notifications (v1 and grouped v2), markers and
// conversations through the library's own calls.
//
//   node masto.mjs BASE_URL ALICE_TOKEN BOB_TOKEN
//
// Driven by tests/e2e/clients_e2e.cpp. Prints one "ok <step>" line per step and
// exits 1 with the reason on the first failure (or after 60 s in all).
import { createRestAPIClient, createStreamingAPIClient } from 'masto';

const [url, aliceToken, bobToken] = process.argv.slice(2);
const fail = (why) => {
  console.error(`FAIL ${why}`);
  process.exit(1);
};
setTimeout(() => fail('the whole run took longer than 60 s'), 60_000).unref();
const ok = (step) => console.log(`ok ${step}`);
const check = (cond, why) => cond || fail(why);

// Events of one subscription, collected as they come; waitFor polls them with a deadline.
function collect(subscription, name) {
  const events = [];
  (async () => {
    try {
      for await (const e of subscription) events.push(e);
    } catch (e) {
      events.push({ event: 'error', payload: String(e) });
    }
  })();
  return {
    events,
    async waitFor(pred, what, ms = 10_000) {
      const until = Date.now() + ms;
      while (Date.now() < until) {
        const hit = events.find(pred);
        if (hit) return hit;
        await new Promise((r) => setTimeout(r, 20));
      }
      fail(`${name}: no ${what} within ${ms} ms; got ${JSON.stringify(events.map((e) => e.event))}`);
    },
  };
}

const alice = createRestAPIClient({ url, accessToken: aliceToken });
const bob = createRestAPIClient({ url, accessToken: bobToken });

// 1. The instance advertises where to stream, in both versions.
const v2 = await alice.v2.instance.fetch();
const streamingUrl = v2.configuration?.urls?.streaming;
check(typeof streamingUrl === 'string' && /^wss?:\/\//.test(streamingUrl), `v2 instance streaming URL is ${JSON.stringify(streamingUrl)}`);
const v1 = await alice.v1.instance.fetch();
check(v1.urls?.streamingApi === streamingUrl, `v1 urls.streaming_api ${JSON.stringify(v1.urls?.streamingApi)} differs from v2's ${streamingUrl}`);
ok('instance advertises the streaming URL');

const me = await alice.v1.accounts.verifyCredentials();
const bobMe = await bob.v1.accounts.verifyCredentials();

// 2. Bob opens one streaming connection, as an app does, with several subscriptions on it.
const streaming = createStreamingAPIClient({ streamingApiUrl: streamingUrl, accessToken: bobToken, retry: false });
const user = collect(streaming.user.subscribe(), 'user');
const notes = collect(streaming.user.notification.subscribe(), 'user:notification');
const pub = collect(streaming.public.subscribe(), 'public');
const tag = collect(streaming.hashtag.subscribe({ tag: 'chorusclients' }), 'hashtag');
const direct = collect(streaming.direct.subscribe(), 'direct');
// A subscription is live once the server has it: wait for the first public event before relying on it.
let warm = '';
for (let i = 0; i < 50 && !warm; i++) {
  const s = await alice.v1.statuses.create({ status: `warming up ${i}`, visibility: 'public' });
  await new Promise((r) => setTimeout(r, 100));
  if (pub.events.some((e) => e.event === 'update' && e.payload.id === s.id)) warm = s.id;
}
check(warm, 'no public update reached the streaming connection');
ok('streaming connection open');

// 3. Bob follows Alice: Alice gets a follow notification (v1 and grouped v2).
await bob.v1.accounts.$select(me.id).follow();
const aliceNotes = async () => alice.v1.notifications.list({ limit: 40 });
let follow;
for (let i = 0; i < 100 && !follow; i++) {
  follow = (await aliceNotes()).find((n) => n.type === 'follow' && n.account.id === bobMe.id);
  if (!follow) await new Promise((r) => setTimeout(r, 50));
}
check(follow, 'Alice has no follow notification from Bob');
const grouped = await alice.v2.notifications.list();
check(Array.isArray(grouped.notificationGroups) && grouped.notificationGroups.some((g) => g.type === 'follow'),
  `grouped notifications lack the follow group: ${JSON.stringify(grouped).slice(0, 300)}`);
ok('follow notification, v1 and v2');

// 4. Alice posts with Bob's tag and a mention: update on Bob's user, public and hashtag streams, notification on his.
const post = await alice.v1.statuses.create({ status: `hello @${bobMe.username} #chorusclients`, visibility: 'public' });
await user.waitFor((e) => e.event === 'update' && e.payload.id === post.id, 'update on user');
await pub.waitFor((e) => e.event === 'update' && e.payload.id === post.id, 'update on public');
await tag.waitFor((e) => e.event === 'update' && e.payload.id === post.id, 'update on hashtag');
const n = await notes.waitFor((e) => e.event === 'notification' && e.payload.type === 'mention' && e.payload.status?.id === post.id,
  'mention notification');
ok('update on user, public and hashtag streams; mention on user:notification');

// 5. Markers: Bob reads up to the mention; the marker comes back.
await bob.v1.markers.create({ notifications: { lastReadId: n.payload.id } });
const markers = await bob.v1.markers.fetch({ timeline: ['notifications'] });
check(markers.notifications?.lastReadId === n.payload.id, `notifications marker is ${JSON.stringify(markers)}`);
ok('markers');

// 6. A direct message: a conversation event on Bob's direct stream and in his conversations.
const dm = await alice.v1.statuses.create({ status: `@${bobMe.username} just us`, visibility: 'direct' });
await direct.waitFor((e) => e.event === 'conversation' && e.payload.lastStatus?.id === dm.id, 'conversation event');
const convs = await bob.v1.conversations.list();
check(convs.some((c) => c.lastStatus?.id === dm.id && c.unread), 'Bob has no unread conversation with the direct status');
ok('direct conversation');

// 7. Alice deletes the public post: delete on every stream that carried it.
await alice.v1.statuses.$select(post.id).remove();
await user.waitFor((e) => e.event === 'delete' && e.payload === post.id, 'delete on user');
await pub.waitFor((e) => e.event === 'delete' && e.payload === post.id, 'delete on public');
await tag.waitFor((e) => e.event === 'delete' && e.payload === post.id, 'delete on hashtag');
ok('delete reaches every stream');

check(![user, notes, pub, tag, direct].some((s) => s.events.some((e) => e.event === 'error')), 'a subscription ended with an error');
streaming.close();
ok('all');
process.exit(0);
