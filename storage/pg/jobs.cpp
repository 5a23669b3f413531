#include "storage/pg/jobs.hpp"
#include "storage/pg/ids.hpp"

#include "storage/pg/connection.hpp"

#include <algorithm>
#include <map>
#include <pqxx/pqxx>
#include <random>

namespace chorus::storage::pg {
namespace {

const char* job_columns =
  "j.id, j.queue, j.kind, j.payload::text, j.priority, j.attempts, j.max_attempts, j.state,"
  " coalesce(j.unique_key, ''), coalesce(j.last_error, ''),"
  " to_char(j.run_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
  " to_char(j.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), coalesce(j.lease_owner, '')";

// A batch of failures as the array parameters of the failure statements.
struct failure_arrays {
  std::string ids, errors, delays;
};

failure_arrays arrays_of(const std::vector<job_failure>& failures) {
  std::vector<std::int64_t> ids;
  std::vector<std::string> errors;
  std::vector<double> delays;
  for (auto& f : failures) {
    ids.push_back(f.id);
    errors.push_back(f.error);
    delays.push_back(f.retry_in_s);
  }
  return {bigint_array(ids), text_array(errors), float8_array(delays)};
}

// The columns a worker needs: id, kind, payload, priority, attempts, max_attempts.
job_row claimed_row(const pqxx::row& r, const std::string& queue, int attempt_offset) {
  job_row j;
  j.id = r[0].as<job_id>();
  j.queue = queue;
  j.kind = r[1].as<std::string>();
  j.payload = r[2].as<std::string>();
  j.priority = r[3].as<int>();
  j.attempts = r[4].as<int>() + attempt_offset;
  j.max_attempts = r[5].as<int>();
  return j;
}

job_row read_job(const pqxx::row& r) {
  job_row j;
  j.id = r[0].as<job_id>();
  j.queue = r[1].as<std::string>();
  j.kind = r[2].as<std::string>();
  j.payload = r[3].as<std::string>();
  j.priority = r[4].as<int>();
  j.attempts = r[5].as<int>();
  j.max_attempts = r[6].as<int>();
  j.state = r[7].as<std::string>();
  j.unique_key = r[8].as<std::string>();
  j.last_error = r[9].as<std::string>();
  j.run_at = r[10].as<std::string>();
  j.created_at = r[11].as<std::string>();
  j.lease_owner = r[12].as<std::string>();
  return j;
}

std::vector<std::int64_t> id_rows(const pqxx::result& rows) {
  std::vector<std::int64_t> out;
  out.reserve(rows.size());
  for (const auto& r : rows)
    out.push_back(r[0].as<std::int64_t>());
  return out;
}

} // namespace

std::vector<enqueued> enqueue_jobs(pqxx::transaction_base& tx, const std::vector<new_job>& jobs) {
  std::vector<enqueued> out(jobs.size());
  if (jobs.empty())
    return out;
  return translated([&] {
    std::vector<std::string> queues, kinds, payloads, keys;
    std::vector<std::int64_t> priorities, max_attempts;
    std::vector<double> delays;
    for (auto& j : jobs) {
      queues.push_back(j.queue);
      kinds.push_back(j.kind);
      payloads.push_back(j.payload);
      keys.push_back(j.unique_key);
      priorities.push_back(j.priority);
      max_attempts.push_back(j.max_attempts);
      delays.push_back(j.delay_s);
    }
    // ON CONFLICT skips duplicates of active jobs, including duplicates inside the
    // batch and those of concurrent transactions (which it waits for).
    auto inserted = tx.exec_params(
      "INSERT INTO jobs (queue, kind, payload, priority, run_at, max_attempts, unique_key)"
      " SELECT q, k, p::jsonb, pr::smallint, now() + make_interval(secs => d), ma::integer, NULLIF(u, '')"
      " FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::float8[], $6::bigint[], $7::text[])"
      "   WITH ORDINALITY AS t(q, k, p, pr, d, ma, u, n) ORDER BY n"
      " ON CONFLICT (queue, unique_key) WHERE unique_key IS NOT NULL AND state IN ('queued', 'running') DO NOTHING"
      " RETURNING id, queue, coalesce(unique_key, '')",
      text_array(queues), text_array(kinds), text_array(payloads), bigint_array(priorities), float8_array(delays),
      bigint_array(max_attempts), text_array(keys));
    // Rows come back in insertion order; keyless jobs are always inserted.
    std::map<std::pair<std::string, std::string>, std::int64_t> by_key;
    std::vector<std::int64_t> keyless;
    for (const auto& r : inserted) {
      auto key = r[2].as<std::string>();
      if (key.empty())
        keyless.push_back(r[0].as<std::int64_t>());
      else
        by_key[{r[1].as<std::string>(), key}] = r[0].as<std::int64_t>();
    }
    std::size_t next_keyless = 0;
    std::vector<std::size_t> missing;
    std::map<std::pair<std::string, std::string>, bool> seen;  // first occurrence in the batch owns the new row
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      if (jobs[i].unique_key.empty()) {
        out[i].id = keyless.at(next_keyless++);
        continue;
      }
      std::pair<std::string, std::string> k{jobs[i].queue, jobs[i].unique_key};
      auto it = by_key.find(k);
      if (it != by_key.end() && !seen[k]) {
        out[i].id = it->second;
        seen[k] = true;
      } else if (it != by_key.end()) {
        out[i] = {it->second, true};
      } else {
        missing.push_back(i);
      }
    }
    if (!missing.empty()) {
      std::vector<std::string> mq, mk;
      for (auto i : missing) {
        mq.push_back(jobs[i].queue);
        mk.push_back(jobs[i].unique_key);
      }
      auto found = tx.exec_params("SELECT j.id, j.queue, j.unique_key FROM jobs j"
                                  " JOIN unnest($1::text[], $2::text[]) AS t(q, u) ON j.queue = t.q AND j.unique_key = t.u"
                                  " WHERE j.state IN ('queued', 'running')",
                                  text_array(mq), text_array(mk));
      std::map<std::pair<std::string, std::string>, std::int64_t> existing;
      for (const auto& r : found)
        existing[{r[1].as<std::string>(), r[2].as<std::string>()}] = r[0].as<std::int64_t>();
      for (auto i : missing) {
        auto it = existing.find({jobs[i].queue, jobs[i].unique_key});
        // A duplicate whose original finished between the two statements: nothing
        // active to point at (id 0); the caller may enqueue it again.
        out[i] = {it == existing.end() ? 0 : it->second, true};
      }
    }
    std::vector<std::string> notified;
    for (auto& j : jobs)
      if (std::find(notified.begin(), notified.end(), j.queue) == notified.end()) {
        notified.push_back(j.queue);
        tx.exec_params("SELECT pg_notify('chorus_jobs', $1)", j.queue);
      }
    return out;
  });
}

std::vector<enqueued> enqueue_jobs(pqxx::connection_base& c, const std::vector<new_job>& jobs) {
  return translated([&] {
    pqxx::work tx(c);
    auto out = enqueue_jobs(tx, jobs);
    tx.commit();
    return out;
  });
}

std::vector<job_row> claim_jobs(pqxx::connection_base& c, const std::string& queue, int n, const std::string& owner,
                                double lease_s) {
  return translated([&] {
    pqxx::work tx(c);
    auto rows = tx.exec_params(std::string("WITH picked AS (SELECT id FROM jobs WHERE queue = $1 AND state = 'queued'"
                                           " AND run_at <= now() ORDER BY priority DESC, run_at, id LIMIT $2"
                                           " FOR UPDATE SKIP LOCKED)"
                                           " UPDATE jobs j SET state = 'running', attempts = j.attempts + 1,"
                                           " lease_owner = $3, lease_expires_at = now() + make_interval(secs => $4),"
                                           " updated_at = now() FROM picked WHERE j.id = picked.id"
                                           " RETURNING j.id, j.kind, j.payload::text, j.priority, j.attempts,"
                                           " j.max_attempts, coalesce(j.last_error, '')"),
                               queue, n, owner, lease_s);
    tx.commit();
    // What running a job needs (the hot path: no timestamps formatted).
    std::vector<job_row> out;
    out.reserve(rows.size());
    for (const auto& r : rows) {
      auto j = claimed_row(r, queue, 0);
      j.last_error = r[6].as<std::string>();
      j.state = "running";
      j.lease_owner = owner;
      out.push_back(std::move(j));
    }
    std::sort(out.begin(), out.end(), [](const job_row& a, const job_row& b) {
      return a.priority != b.priority ? a.priority > b.priority : a.id < b.id;
    });
    return out;
  });
}

std::size_t complete_jobs(pqxx::connection_base& c, const std::vector<job_id>& ids, const std::string& owner) {
  if (ids.empty())
    return 0;
  return translated([&] {
    pqxx::work tx(c);
    auto r = tx.exec_params("DELETE FROM jobs WHERE id = ANY($1::bigint[]) AND state = 'running' AND lease_owner = $2",
                            bigint_array(ids), owner);
    tx.commit();
    return static_cast<std::size_t>(r.affected_rows());
  });
}

std::vector<failed_job> fail_jobs(pqxx::connection_base& c, const std::vector<job_failure>& failures,
                                  const std::string& owner) {
  std::vector<failed_job> out;
  if (failures.empty())
    return out;
  return translated([&] {
    auto a = arrays_of(failures);
    pqxx::work tx(c);
    auto rows = tx.exec_params(
      "UPDATE jobs j SET state = CASE WHEN j.attempts >= j.max_attempts THEN 'dead' ELSE 'queued' END,"
      " run_at = CASE WHEN j.attempts >= j.max_attempts THEN j.run_at ELSE now() + make_interval(secs => f.d) END,"
      " last_error = f.e, lease_owner = NULL, lease_expires_at = NULL, updated_at = now()"
      " FROM unnest($1::bigint[], $2::text[], $3::float8[]) AS f(id, e, d)"
      " WHERE j.id = f.id AND j.state = 'running' AND j.lease_owner = $4 RETURNING j.id, j.state = 'dead'",
      a.ids, a.errors, a.delays, owner);
    tx.commit();
    for (const auto& r : rows)
      out.push_back({r[0].as<std::int64_t>(), r[1].as<bool>()});
    return out;
  });
}

std::vector<job_row> lock_jobs(pqxx::transaction_base& tx, const std::string& queue, int n) {
  return translated([&] {
    auto rows = tx.exec_params("SELECT id, kind, payload::text, priority, attempts, max_attempts FROM jobs"
                               " WHERE queue = $1 AND state = 'queued' AND run_at <= now()"
                               " ORDER BY priority DESC, run_at, id LIMIT $2 FOR UPDATE SKIP LOCKED",
                               queue, n);
    std::vector<job_row> out;
    out.reserve(rows.size());
    for (const auto& r : rows) {
      auto j = claimed_row(r, queue, 1);  // attempts counts failures only: this one is the next
      j.state = "queued";
      out.push_back(std::move(j));
    }
    return out;
  });
}

std::size_t delete_jobs(pqxx::transaction_base& tx, const std::vector<job_id>& ids) {
  if (ids.empty())
    return 0;
  return translated([&] {
    return static_cast<std::size_t>(
      tx.exec_params("DELETE FROM jobs WHERE id = ANY($1::bigint[])", bigint_array(ids)).affected_rows());
  });
}

std::vector<failed_job> fail_locked_jobs(pqxx::transaction_base& tx, const std::vector<job_failure>& failures) {
  std::vector<failed_job> out;
  if (failures.empty())
    return out;
  return translated([&] {
    auto a = arrays_of(failures);
    auto rows = tx.exec_params(
      "UPDATE jobs j SET attempts = j.attempts + 1,"
      " state = CASE WHEN j.attempts + 1 >= j.max_attempts THEN 'dead' ELSE 'queued' END,"
      " run_at = CASE WHEN j.attempts + 1 >= j.max_attempts THEN j.run_at ELSE now() + make_interval(secs => f.d) END,"
      " last_error = f.e, updated_at = now()"
      " FROM unnest($1::bigint[], $2::text[], $3::float8[]) AS f(id, e, d)"
      " WHERE j.id = f.id RETURNING j.id, j.state = 'dead'",
      a.ids, a.errors, a.delays);
    for (const auto& r : rows)
      out.push_back({r[0].as<std::int64_t>(), r[1].as<bool>()});
    return out;
  });
}

struct locked_session::impl {
  std::string dsn;
  std::string application_name;
  std::chrono::milliseconds idle_limit;
  std::unique_ptr<pqxx::connection> conn;
  std::unique_ptr<pqxx::work> tx;
};

locked_session::locked_session(std::string dsn, std::string application_name, std::chrono::milliseconds idle_limit)
  : impl_(std::make_unique<impl>(impl{std::move(dsn), std::move(application_name), idle_limit, nullptr, nullptr})) {}

locked_session::~locked_session() = default;

std::vector<job_row> locked_session::lock(const std::string& queue, int n) {
  auto& s = *impl_;
  s.tx.reset();
  if (!s.conn) {
    s.conn = connect({s.dsn, 3, 0, s.application_name});
    pqxx::nontransaction(*s.conn).exec("SET idle_in_transaction_session_timeout = " +
                                       std::to_string(s.idle_limit.count()));
  }
  s.tx = std::make_unique<pqxx::work>(*s.conn);
  auto jobs = lock_jobs(*s.tx, queue, n);
  if (jobs.empty()) {
    s.tx->commit();
    s.tx.reset();
  }
  return jobs;
}

bool locked_session::open() const { return impl_->tx != nullptr; }

locked_session::outcome locked_session::finish(const std::vector<job_id>& done,
                                               const std::vector<job_failure>& failed) {
  auto& s = *impl_;
  outcome out;
  out.completed = delete_jobs(*s.tx, done);
  out.failed = fail_locked_jobs(*s.tx, failed);
  s.tx->commit();
  s.tx.reset();
  return out;
}

void locked_session::reset() {
  impl_->tx.reset();  // rolls back: the jobs are free again
  impl_->conn.reset();
}

namespace {

struct notify_receiver : pqxx::notification_receiver {
  notify_receiver(pqxx::connection_base& c, std::function<void(const std::string&)>& fn)
    : pqxx::notification_receiver(c, "chorus_jobs"), fn_(fn) {}
  void operator()(const std::string& payload, int) override { fn_(payload); }
  std::function<void(const std::string&)>& fn_;
};

} // namespace

struct job_notifications::impl {
  std::function<void(const std::string&)> on_notify;
  std::unique_ptr<pqxx::connection> conn;
  std::unique_ptr<notify_receiver> receiver;  // declared after conn: destroyed first
};

job_notifications::job_notifications(const std::string& dsn, const std::string& application_name,
                                     std::function<void(const std::string& queue)> on_notify)
  : impl_(std::make_unique<impl>()) {
  impl_->on_notify = std::move(on_notify);
  impl_->conn = connect({dsn, 3, 0, application_name});
  impl_->receiver = std::make_unique<notify_receiver>(*impl_->conn, impl_->on_notify);
}

job_notifications::~job_notifications() = default;

int job_notifications::await(std::chrono::microseconds timeout) {
  auto us = timeout.count();
  return impl_->conn->await_notification(static_cast<long>(us / 1'000'000), static_cast<long>(us % 1'000'000));
}

std::vector<std::int64_t> reclaim_lost(pqxx::connection_base& c, double dead_after_s) {
  return translated([&] {
    pqxx::work tx(c);
    auto rows = tx.exec_params(
      "UPDATE jobs SET state = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END, run_at = now(),"
      " last_error = CASE WHEN lease_expires_at < now() THEN 'lease expired (worker lost)'"
      "   ELSE 'node lost: ' || split_part(lease_owner, '/', 1) || ' stopped heartbeating' END,"
      " lease_owner = NULL, lease_expires_at = NULL, updated_at = now()"
      " WHERE id IN (SELECT j.id FROM jobs j WHERE j.state = 'running' AND (j.lease_expires_at < now()"
      "   OR (j.lease_owner ~ '^i[0-9a-f]{16}/' AND j.updated_at < now() - make_interval(secs => $1)"
      "       AND NOT EXISTS (SELECT 1 FROM node_incarnations n WHERE n.incarnation = split_part(j.lease_owner, '/', 1)"
      "                        AND n.last_seen_at > now() - make_interval(secs => $1))))"
      " FOR UPDATE SKIP LOCKED) RETURNING id",
      dead_after_s);
    tx.commit();
    return id_rows(rows);
  });
}

std::string lease_owner(const std::string& incarnation, const std::string& rest) { return incarnation + "/" + rest; }

std::string new_incarnation() {
  std::random_device rd;
  std::uint64_t v = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  static const char* hex = "0123456789abcdef";
  std::string out = "i";
  for (int i = 15; i >= 0; --i)
    out.push_back(hex[(v >> (i * 4)) & 0xf]);
  return out;
}

std::vector<job_id> replay_dead(pqxx::connection_base& c, const std::vector<job_id>& ids) {
  if (ids.empty())
    return {};
  return translated([&] {
    pqxx::work tx(c);
    auto rows = tx.exec_params(
      "UPDATE jobs j SET state = 'queued', attempts = 0, run_at = now(), lease_owner = NULL, lease_expires_at = NULL,"
      " updated_at = now() WHERE j.id = ANY($1::bigint[]) AND j.state = 'dead'"
      " AND (j.unique_key IS NULL OR NOT EXISTS (SELECT 1 FROM jobs a WHERE a.queue = j.queue"
      " AND a.unique_key = j.unique_key AND a.state IN ('queued', 'running')))"
      " RETURNING j.id",
      bigint_array(ids));
    tx.commit();
    return ids_of<job_id>(id_rows(rows));
  });
}

bool active_jobs(pqxx::connection_base& c, const std::string& queue) {
  return translated([&] {
    pqxx::nontransaction tx(c);
    return tx
      .exec_params1("SELECT EXISTS (SELECT 1 FROM jobs WHERE state = 'queued' AND ($1 = '' OR queue = $1))"
                    " OR EXISTS (SELECT 1 FROM jobs WHERE state = 'running' AND ($1 = '' OR queue = $1))",
                    queue)[0]
      .as<bool>();
  });
}

std::vector<job_id> retry_now(pqxx::connection_base& c, const std::vector<job_id>& ids) {
  if (ids.empty())
    return {};
  return translated([&] {
    pqxx::work tx(c);
    auto rows = tx.exec_params("UPDATE jobs SET run_at = now(), updated_at = now()"
                               " WHERE id = ANY($1::bigint[]) AND state = 'queued' RETURNING id",
                               bigint_array(ids));
    tx.commit();
    return ids_of<job_id>(id_rows(rows));
  });
}

std::vector<job_row> list_jobs(pqxx::connection_base& c, const std::string& queue, const std::string& state,
                               std::int64_t before_id, int limit) {
  return translated([&] {
    pqxx::work tx(c);
    auto rows = tx.exec_params(std::string("SELECT ") + job_columns +
                                 " FROM jobs j WHERE ($1 = '' OR j.queue = $1) AND ($2 = '' OR j.state = $2)"
                                 " AND ($3::bigint = 0 OR j.id < $3::bigint) ORDER BY j.id DESC LIMIT $4",
                               queue, state, before_id, std::clamp(limit, 1, 500));
    std::vector<job_row> out;
    for (const auto& r : rows)
      out.push_back(read_job(r));
    return out;
  });
}

std::vector<queue_depth> queue_depths(pqxx::connection_base& c) {
  return translated([&] {
    pqxx::work tx(c);
    auto rows = tx.exec("SELECT queue, count(*) FILTER (WHERE state = 'queued'),"
                        " count(*) FILTER (WHERE state = 'queued' AND run_at <= now()),"
                        " count(*) FILTER (WHERE state = 'running'), count(*) FILTER (WHERE state = 'dead'),"
                        " coalesce(extract(epoch FROM now() - min(run_at) FILTER"
                        " (WHERE state = 'queued' AND run_at <= now())), 0)::float8"
                        " FROM jobs GROUP BY queue ORDER BY queue");
    std::vector<queue_depth> out;
    for (const auto& r : rows)
      out.push_back({r[0].as<std::string>(), r[1].as<std::int64_t>(), r[2].as<std::int64_t>(), r[3].as<std::int64_t>(),
                     r[4].as<std::int64_t>(), r[5].as<double>()});
    return out;
  });
}

std::int64_t schedule_slot(pqxx::connection_base& c, const std::string& name, std::int64_t slot, const new_job& job) {
  return translated([&] {
    pqxx::work tx(c);
    auto taken = tx.exec_params("INSERT INTO cron_runs (name, slot) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1",
                                name, slot);
    if (taken.empty())
      return std::int64_t{0};
    auto id = enqueue_jobs(tx, {job}).front().id;
    tx.exec_params("UPDATE cron_runs SET job_id = $3 WHERE name = $1 AND slot = $2", name, slot, id);
    tx.commit();
    return id;
  });
}

std::size_t prune_cron_runs(pqxx::connection_base& c, int days) {
  return translated([&] {
    pqxx::work tx(c);
    auto r = tx.exec_params("DELETE FROM cron_runs WHERE enqueued_at < now() - make_interval(days => $1)", days);
    tx.commit();
    return static_cast<std::size_t>(r.affected_rows());
  });
}

std::size_t prune_nodes(pqxx::connection_base& c, int days) {
  return translated([&] {
    pqxx::work tx(c);
    auto r = tx.exec_params("DELETE FROM nodes WHERE last_seen_at < now() - make_interval(days => $1)", days);
    tx.exec_params("DELETE FROM node_incarnations WHERE last_seen_at < now() - make_interval(days => $1)", days);
    tx.commit();
    return static_cast<std::size_t>(r.affected_rows());
  });
}

} // namespace chorus::storage::pg
