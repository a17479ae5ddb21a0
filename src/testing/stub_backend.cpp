#include <courier/testing/stub_backend.hpp>

#include "asio/backend_impl.hpp"
#include "asio/ws/ws_open.hpp"
#include "asio/ws/ws_session.hpp"
#include "testing/clock_state.hpp"
#include "testing/memory_stream.hpp"
#include "testing/stub_server.hpp"

#include <courier/asio_backend.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <future>
#include <mutex>
#include <random>

#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 misreads a coroutine frame's own operator new/delete pair as a mismatch (a false
// positive of its coroutine lowering).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace courier::testing {

namespace net = boost::asio;
using clock = std::chrono::steady_clock;

// --- rules -------------------------------------------------------------------------------------

namespace detail {

struct stub_rule {
  explicit stub_rule(matcher m) : match(std::move(m)) {}

  enum class kind { none, fixed, sequence, computed, websocket };

  matcher match;
  mutable std::mutex mutex;
  kind how = kind::none;
  answer fixed;
  std::vector<answer> sequence;
  std::size_t next = 0;
  std::function<answer(const request_data&)> computed;
  std::optional<ws_script> script;
  std::chrono::milliseconds delay{0};
  std::size_t hits = 0;

  struct decision {
    answer reply;
    std::optional<ws_script> script;
  };

  // The answer for one request (a sequence advances). A throwing computed answer propagates.
  decision decide(const request_data& req) {
    std::function<answer(const request_data&)> f;
    decision d;
    {
      std::lock_guard lock(mutex);
      ++hits;
      switch (how) {
        case kind::none:
          throw invalid_request("stub_backend: the rule for " + match.description() + " matched " +
                                describe(req) +
                                " but says nothing: call respond(), fail() or "
                                "respond_websocket() on it");
        case kind::fixed:
          d.reply = fixed;
          break;
        case kind::sequence:
          d.reply = sequence[std::min(next, sequence.size() - 1)];
          if (next < sequence.size()) ++next;
          break;
        case kind::computed:
          f = computed;
          break;
        case kind::websocket:
          d.script = script;
          break;
      }
      d.reply.delay += delay;
    }
    if (f) {
      auto extra = d.reply.delay;
      d.reply = f(req);
      d.reply.delay += extra;
    }
    return d;
  }

  void set(kind k) {
    how = k;
    script.reset();
    computed = nullptr;
    sequence.clear();
    next = 0;
  }
};

}  // namespace detail

rule& rule::respond(int status, std::string body, courier::headers headers) {
  answer a;
  a.status = status;
  a.body = std::move(body);
  a.headers = std::move(headers);
  return respond(std::move(a));
}

rule& rule::respond(answer a) {
  std::lock_guard lock(rule_->mutex);
  rule_->set(detail::stub_rule::kind::fixed);
  rule_->fixed = std::move(a);
  return *this;
}

rule& rule::respond_sequence(std::vector<answer> answers) {
  if (answers.empty()) {
    throw invalid_request("stub_backend: respond_sequence needs at least one answer");
  }
  std::lock_guard lock(rule_->mutex);
  rule_->set(detail::stub_rule::kind::sequence);
  rule_->sequence = std::move(answers);
  return *this;
}

rule& rule::respond_with(std::function<answer(const request_data&)> f) {
  std::lock_guard lock(rule_->mutex);
  rule_->set(detail::stub_rule::kind::computed);
  rule_->computed = std::move(f);
  return *this;
}

rule& rule::fail(courier::errc code, std::string message) {
  return respond(failure(code, std::move(message)));
}

rule& rule::delay(std::chrono::milliseconds d) {
  std::lock_guard lock(rule_->mutex);
  rule_->delay = d;
  return *this;
}

rule& rule::respond_websocket(ws_script script) {
  std::lock_guard lock(rule_->mutex);
  rule_->set(detail::stub_rule::kind::websocket);
  rule_->script = std::move(script);
  return *this;
}

std::size_t rule::hits() const {
  std::lock_guard lock(rule_->mutex);
  return rule_->hits;
}

const std::string& rule::description() const {
  return rule_->match.description();
}

// --- the backend -------------------------------------------------------------------------------

struct stub_backend::impl : std::enable_shared_from_this<stub_backend::impl> {
  explicit impl(recorder& r) : rec(r) {}

  std::shared_ptr<asio_backend::impl> io;  // io_context, its thread, open WebSockets
  recorder& rec;
  std::mutex mutex;
  std::vector<std::shared_ptr<detail::stub_rule>> rules;
  std::vector<std::weak_ptr<detail::memory_channel>> channels;
  std::vector<std::weak_ptr<net::steady_timer>> delays;  // answers waiting to be given

  void track(const std::shared_ptr<net::steady_timer>& t) {
    std::lock_guard lock(mutex);
    std::erase_if(delays, [](const auto& w) { return w.expired(); });
    delays.push_back(t);
  }

  // With a virtual clock: null for real time.
  std::shared_ptr<detail::clock_state> virt;
  detail::clock_state::owner_id owner = 0;

  bool on_own_thread() const {
    return !io->thread_ids.empty() && std::this_thread::get_id() == io->thread_ids.front();
  }

  // A timer for a wait of `d`, tracked so that destroying the stub ends it. On real time it
  // simply expires; on virtual time it waits for ever until the clock reaches the wait's end,
  // and then `due` is set and the wait cancelled. Either way a wait completing with `*due`
  // false was ended by the stub's destruction.
  std::shared_ptr<net::steady_timer> arm(std::chrono::milliseconds d,
                                         const std::shared_ptr<bool>& due) {
    auto timer = std::make_shared<net::steady_timer>(io->ioc);
    track(timer);
    if (!virt) {
      timer->expires_after(d);
      *due = true;  // read only after an expiry; a cancelled wait is told by its error code
      return timer;
    }
    timer->expires_at(net::steady_timer::time_point::max());
    virt->schedule(owner, d, [ioc = &io->ioc, weak = std::weak_ptr(timer), due] {
      // The stub detaches from the clock before its io_context goes: `ioc` is alive here.
      net::post(*ioc, [weak, due] {
        if (auto t = weak.lock()) {
          *due = true;
          t->cancel();
        }
      });
    });
    return timer;
  }

  // Calls f(aborted) on the stub's thread after `d`, or with aborted = true when the stub is
  // destroyed first.
  void after(std::chrono::milliseconds d, std::function<void(bool)> f) {
    auto due = std::make_shared<bool>(false);
    auto timer = arm(d, due);
    const bool real = !virt;
    timer->async_wait([timer, due, real, f = std::move(f)](boost::system::error_code ec) {
      f(real ? ec == net::error::operation_aborted : !*due);
    });
  }

  // Waits for a sync call's result; on an automatic virtual clock, moves time while it waits.
  template <class T>
  T wait(std::future<T>& result) {
    if (virt && virt->automatic) {
      const auto ready = [&] {
        return result.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
      };
      while (!ready()) {
        // An answer already on its way (no delay) comes before time moves at all.
        settle();
        if (ready()) break;
        // Nothing due: the answer depends on something else (another thread); poll for it.
        if (!virt->next()) result.wait_for(std::chrono::milliseconds(5));
      }
    }
    return result.get();
  }

  // Returns once everything queued on the stub's thread so far has run (at once on that thread).
  void settle() {
    if (on_own_thread()) return;
    auto drained = std::make_shared<std::promise<void>>();
    auto done = drained->get_future();
    net::post(io->ioc, [drained] { drained->set_value(); });
    done.wait_for(std::chrono::seconds(1));
  }

  // What recorded durations measure: virtual time on a virtual clock.
  clock::duration elapsed() const {
    if (virt) {
      std::lock_guard lock(virt->mutex);
      // Virtual time may stand at milliseconds::max() (a wait that is never due): saturate
      // rather than overflow in the finer unit.
      constexpr auto limit =
          std::chrono::duration_cast<std::chrono::milliseconds>(clock::duration::max());
      if (virt->now >= limit) return clock::duration::max();
      return std::chrono::duration_cast<clock::duration>(virt->now);
    }
    return clock::now().time_since_epoch();
  }

  std::shared_ptr<detail::stub_rule> find(const request_data& req) {
    std::vector<std::shared_ptr<detail::stub_rule>> snapshot;
    {
      std::lock_guard lock(mutex);
      snapshot = rules;
    }
    for (auto& r : snapshot) {
      if (r->match(req)) return r;
    }
    std::string known;
    for (std::size_t i = 0; i < snapshot.size(); ++i) {
      known += (i ? "; " : "") + std::to_string(i + 1) + ". " + snapshot[i]->match.description();
    }
    throw unmatched_request(
        "stub_backend: no rule matches " + describe(req) +
        (snapshot.empty() ? " (no rules were added)" : " (rules: " + known + ")"));
  }

  void track(const detail::memory_pipe& p) {
    std::lock_guard lock(mutex);
    std::erase_if(channels, [](const auto& w) { return w.expired(); });
    channels.push_back(p.to_client);
    channels.push_back(p.to_server);
  }
};

stub_backend::stub_backend() : impl_(std::make_shared<impl>(*this)) {
  asio_backend_options o;
  o.user_agent = "courier/0.1";
  impl_->io = std::make_shared<asio_backend::impl>(std::move(o));
  auto& io = *impl_->io;
  auto work = std::make_shared<net::executor_work_guard<net::io_context::executor_type>>(
      io.ioc.get_executor());
  io.threads.emplace_back([p = &io, work] { p->ioc.run(); });
  io.thread_ids.push_back(io.threads.back().get_id());
}

namespace {
// Open WebSockets' timers (keep-alive, close and receive timeouts) on a stub's virtual clock.
class clock_time final : public asio_detail::time_source {
 public:
  clock_time(std::shared_ptr<detail::clock_state> clock, detail::clock_state::owner_id owner)
      : clock_(std::move(clock)), owner_(owner) {}
  void call_after(std::chrono::milliseconds d, std::function<void()> fire) override {
    clock_->schedule(owner_, d, std::move(fire));
  }

 private:
  std::shared_ptr<detail::clock_state> clock_;
  detail::clock_state::owner_id owner_;
};
}  // namespace

stub_backend::stub_backend(virtual_clock& clock) : stub_backend() {
  impl_->virt = clock.state();
  impl_->owner = impl_->virt->attach([weak = std::weak_ptr(impl_)] {
    if (auto self = weak.lock()) self->settle();
  });
  impl_->io->session_time = std::make_shared<clock_time>(impl_->virt, impl_->owner);
}

stub_backend::~stub_backend() {
  // First, so that the clock neither fires a wait of this stub nor waits for it from now on.
  if (impl_->virt) impl_->virt->detach(impl_->owner);
  auto& io = *impl_->io;
  io.stopped = true;
  // Delayed answers fail with operation_aborted now, rather than never.
  std::vector<std::shared_ptr<net::steady_timer>> waiting;
  {
    std::lock_guard lock(impl_->mutex);
    for (auto& w : impl_->delays) {
      if (auto t = w.lock()) waiting.push_back(std::move(t));
    }
  }
  if (!waiting.empty()) {
    auto drained = std::make_shared<std::promise<void>>();
    auto done = drained->get_future();
    net::post(io.ioc, [waiting, drained, ioc = &io.ioc] {
      for (auto& t : waiting)
        t->cancel();
      // Queued after the cancelled waits' handlers: it runs once they have.
      net::post(*ioc, [drained] { drained->set_value(); });
    });
    done.wait_for(std::chrono::seconds(1));
  }
  // As asio_backend does: fail open WebSockets while the thread still runs, so that nobody
  // waits on a backend that is gone.
  std::vector<std::shared_ptr<asio_detail::ws_session>> live;
  {
    std::lock_guard lock(io.sessions_mutex);
    for (auto& w : io.sessions) {
      if (auto s = w.lock()) live.push_back(std::move(s));
    }
  }
  if (!live.empty()) {
    auto left = std::make_shared<std::atomic<std::size_t>>(live.size());
    auto all_done = std::make_shared<std::promise<void>>();
    auto done = all_done->get_future();
    for (auto& s : live) {
      net::dispatch(s->strand(), [s, left, all_done] {
        s->fail(ws::close_code::going_away, "client shutting down",
                std::make_exception_ptr(
                    operation_aborted("the stub_backend of this WebSocket was destroyed")));
        if (--*left == 0) all_done->set_value();
      });
    }
    done.wait_for(std::chrono::seconds(1));
  }
  io.ioc.stop();
  for (auto& t : io.threads) {
    if (t.joinable()) t.join();
  }
  // Readers parked on in-memory pipes are not known to the io_context: drop them here, or the
  // coroutines waiting in them would keep each other alive.
  std::lock_guard lock(impl_->mutex);
  for (auto& w : impl_->channels) {
    if (auto c = w.lock()) c->abandon();
  }
}

rule stub_backend::when(matcher m) {
  auto r = std::make_shared<detail::stub_rule>(std::move(m));
  std::lock_guard lock(impl_->mutex);
  impl_->rules.push_back(r);
  return rule(r);
}

rule stub_backend::when(courier::method m, std::string_view uri) {
  return when(method_is(std::move(m)) && uri_is(uri));
}

rule stub_backend::when_any() {
  return when(any_request());
}

void stub_backend::clear_rules() {
  std::lock_guard lock(impl_->mutex);
  impl_->rules.clear();
}

// --- HTTP --------------------------------------------------------------------------------------

namespace {

using exchange_done = std::function<void(std::exception_ptr, raw_response)>;

std::string default_message(courier::errc code, const request_data& req) {
  return "stub_backend: " + make_error_code(code).message() + " for " + describe(req) +
         " (the stub's answer)";
}

void deliver_body(raw_response& raw, std::string body, const body_destination& dest,
                  const request_data& req) {
  if (std::holds_alternative<to_memory>(dest)) {
    if (body.size() > req.options().max_body_size) {
      throw body_too_large("stub_backend: the body of the answer to " + describe(req) + " (" +
                           std::to_string(body.size()) + " bytes) exceeds max_body_size (" +
                           std::to_string(req.options().max_body_size) + ")");
    }
    raw.body.bytes = std::move(body);
  } else if (const auto* file = std::get_if<to_file>(&dest)) {
    // As the asio backend does: a temporary file renamed into place, never a partial file.
    std::filesystem::path temp = file->path;
    temp += ".courier-" + std::to_string(std::random_device{}()) + ".part";
    std::FILE* f = std::fopen(temp.c_str(), "wb");
    if (!f) {
      throw file_error("cannot open " + file->path.string() +
                       " for writing: " + std::strerror(errno));
    }
    bool ok = std::fwrite(body.data(), 1, body.size(), f) == body.size();
    ok = std::fclose(f) == 0 && ok;
    std::error_code ec;
    if (ok) std::filesystem::rename(temp, file->path, ec);
    if (!ok || ec) {
      std::filesystem::remove(temp, ec);
      throw file_error("writing " + file->path.string() + " failed");
    }
  }
}

// A request_data whose uri and method a redirect may change (its members are protected).
struct redirected_request : request_data {
  redirected_request(const request_data& d, courier::method m, courier::uri u, bool keep_body)
      : request_data(d) {
    state& s = mut();
    s.method = std::move(m);
    s.uri = std::move(u);
    s.query.clear();
    if (!keep_body) {
      s.body.reset();
      s.headers.erase("Content-Type");
    }
  }
};

bool is_followed_redirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

}  // namespace

namespace detail {

// One request, redirects included; `done` runs once on the stub's thread. Once `cancelled` is
// set (by the caller's cancellation slot), an answer still waiting for its delay is dropped:
// nothing is delivered to the destination and `done` is left to the canceller.
void run_exchange(std::shared_ptr<stub_backend::impl> self, request_data req, body_destination dest,
                  std::vector<redirect_record> history, exchange_done done,
                  std::shared_ptr<std::atomic<bool>> cancelled = nullptr) {
  stub_rule::decision d;
  try {
    if (!req.uri()) throw invalid_request("the request has no uri: call get(uri) first");
    d = self->find(req)->decide(req);
    if (d.script) {
      throw invalid_request("stub_backend: the rule for " + describe(req) +
                            " answers WebSockets (respond_websocket) but the request was sent, "
                            "not opened with open_websocket");
    }
  } catch (...) {
    net::post(self->io->ioc, [done, e = std::current_exception()] { done(e, {}); });
    return;
  }
  const auto& opts = req.options();
  auto limit = opts.timeout ? std::min(opts.read_timeout, *opts.timeout) : opts.read_timeout;
  const bool times_out = d.reply.delay >= limit;
  // Handlers left in the io_context hold the stub weakly: the io_context belongs to it.
  auto finish = [weak = std::weak_ptr(self), req, dest, history = std::move(history),
                 reply = std::move(d.reply), times_out, limit, done,
                 cancelled](bool aborted) mutable {
    if (cancelled && cancelled->load()) return;
    raw_response raw;
    try {
      if (aborted) {
        throw operation_aborted("stub_backend: destroyed before answering " + describe(req));
      }
      if (times_out) {
        throw timeout_error("stub_backend: read timeout: no answer to " + describe(req) +
                            " within " + std::to_string(limit.count()) + " ms");
      }
      if (reply.error) {
        throw_error(make_error_code(*reply.error), reply.error_message.empty()
                                                       ? default_message(*reply.error, req)
                                                       : reply.error_message);
      }
      raw.head = response_head{reply.status,
                               reply.reason.empty() ? reason_for(reply.status) : reply.reason,
                               reply.headers,
                               http_version::http1_1,
                               {}};
      raw.final_uri = *req.uri();
      auto location = reply.headers.get("Location");
      if (req.options().follow_redirects && is_followed_redirect(reply.status) && location) {
        if (static_cast<int>(history.size()) >= req.options().max_redirects) {
          throw too_many_redirects("stub_backend: more than " +
                                   std::to_string(req.options().max_redirects) +
                                   " redirects, the last to " + std::string(*location));
        }
        auto next_uri = req.uri()->resolve(*location);
        history.push_back(redirect_record{req.method(), *req.uri(), raw.head});
        const bool to_get = reply.status == 303 || ((reply.status == 301 || reply.status == 302) &&
                                                    req.method() == courier::method::post);
        redirected_request next(req, to_get ? courier::method::get : req.method(), next_uri,
                                !to_get);
        if (auto self = weak.lock())
          run_exchange(self, next, dest, std::move(history), done, cancelled);
        return;
      }
      raw.history = std::move(history);
      deliver_body(raw, std::move(reply.body), dest, req);
    } catch (...) {
      done(std::current_exception(), {});
      return;
    }
    done(nullptr, std::move(raw));
  };
  auto wait = times_out ? limit : d.reply.delay;
  if (wait.count() <= 0) {
    net::post(self->io->ioc, [finish = std::move(finish)]() mutable { finish(false); });
    return;
  }
  self->after(wait, std::move(finish));
}

}  // namespace detail

namespace {
// Records the exchange, then hands over the result.
exchange_done recording(std::shared_ptr<stub_backend::impl> self, const request_data& req,
                        const body_destination& dest, exchange_done done) {
  auto start = self->elapsed();
  return [weak = std::weak_ptr(self), req, dest, start, done = std::move(done)](
             std::exception_ptr e, raw_response raw) {
    recorded_exchange rec{req};
    if (auto self = weak.lock()) rec.duration = self->elapsed() - start;
    if (e) {
      courier::detail::record_failure(rec, e);
    } else {
      courier::detail::record_result(rec, raw, dest);
    }
    if (auto self = weak.lock()) self->rec.add(std::move(rec));
    done(e, std::move(raw));
  };
}
}  // namespace

raw_response stub_backend::send_raw(const request_data& req, const body_destination& dest) {
  impl_->io->check_blocking_allowed("stub_backend::send()");
  std::promise<raw_response> promise;
  auto result = promise.get_future();
  detail::run_exchange(
      impl_, req, dest, {},
      recording(impl_, req, dest, [&promise](std::exception_ptr e, raw_response r) {
        if (e) {
          promise.set_exception(e);
        } else {
          promise.set_value(std::move(r));
        }
      }));
  return impl_->wait(result);
}

void stub_backend::async_send_raw(const request_data& req, const body_destination& dest,
                                  raw_handler handler) {
  auto cancel = handler.get_cancellation_slot();
  auto shared = std::make_shared<raw_handler>(std::move(handler));
  if (!cancel.is_connected()) {
    detail::run_exchange(
        impl_, req, dest, {},
        recording(impl_, req, dest, [shared](std::exception_ptr e, raw_response r) {
          std::move (*shared)(e, std::move(r));
        }));
    return;
  }
  // Cancellation (terminal, partial, total): an answer not given yet is dropped, and the
  // handler completes with operation_aborted. Either side that comes first wins the flag.
  auto cancelled = std::make_shared<std::atomic<bool>>(false);
  auto done = recording(impl_, req, dest, [shared](std::exception_ptr e, raw_response r) {
    std::move (*shared)(e, std::move(r));
  });
  auto answered = std::make_shared<std::atomic<bool>>(false);
  auto once = [done, answered](std::exception_ptr e, raw_response r) {
    if (!answered->exchange(true)) done(e, std::move(r));
  };
  struct relay {
    std::weak_ptr<impl> stub;
    std::shared_ptr<std::atomic<bool>> cancelled;
    exchange_done once;
    std::string what;
    void operator()(net::cancellation_type) const {
      auto self = stub.lock();
      if (!self) return;
      net::post(self->io->ioc, [cancelled = cancelled, once = once, what = what] {
        cancelled->store(true);
        once(std::make_exception_ptr(operation_aborted("stub_backend: " + what + " was cancelled")),
             {});
      });
    }
  };
  cancel.emplace<relay>(relay{impl_, cancelled, once, describe(req)});
  detail::run_exchange(impl_, req, dest, {}, once, cancelled);
}

// --- WebSockets --------------------------------------------------------------------------------

namespace {

net::awaitable<std::unique_ptr<asio_detail::byte_stream>> connect_stub(
    std::shared_ptr<stub_backend::impl> self, detail::server_plan plan) {
  auto pipe = detail::make_memory_pipe(self->io->ioc.get_executor());
  self->track(pipe);
  net::co_spawn(net::make_strand(self->io->ioc),
                detail::run_stub_server(std::move(pipe.server), std::move(plan)),
                [](std::exception_ptr) {});
  co_return std::move(pipe.client);
}

// On a virtual clock, the upgrade's delay passes before the connection is made: `wait` of
// virtual time, then a read timeout if the delay reaches the request's limit.
net::awaitable<std::unique_ptr<asio_detail::byte_stream>> connect_stub_later(
    std::weak_ptr<stub_backend::impl> weak, detail::server_plan plan,
    std::chrono::milliseconds wait, bool times_out, std::string what) {
  std::shared_ptr<net::steady_timer> timer;
  auto due = std::make_shared<bool>(false);
  if (auto self = weak.lock()) timer = self->arm(wait, due);
  if (!timer) throw operation_aborted("the stub_backend was destroyed");
  boost::system::error_code ec;
  co_await timer->async_wait(net::redirect_error(net::use_awaitable, ec));
  if (!*due) throw operation_aborted("stub_backend: destroyed before answering " + what);
  if (times_out) {
    throw timeout_error("stub_backend: read timeout: no answer to the WebSocket upgrade " + what +
                        " within " + std::to_string(wait.count()) + " ms");
  }
  auto self = weak.lock();
  if (!self) throw operation_aborted("the stub_backend was destroyed");
  co_return co_await connect_stub(self, std::move(plan));
}

// Decides how the stub answers this upgrade, now, on the caller's thread. `on_clock` tells
// whether the opening waits on the stub's virtual clock.
asio_detail::stream_connector make_connector(const std::shared_ptr<stub_backend::impl>& self,
                                             const request_data& req, bool* on_clock = nullptr) {
  if (!req.uri()) {
    throw invalid_request("the WebSocket request has no uri: call get(uri) first");
  }
  auto d = self->find(req)->decide(req);
  detail::server_plan plan;
  plan.delay = d.reply.delay;
  if (d.script) {
    plan.script = std::move(d.script);
  } else if (d.reply.error) {
    const auto code = *d.reply.error;
    const std::string message =
        d.reply.error_message.empty() ? default_message(code, req) : d.reply.error_message;
    if (code == errc::read_failed) {
      plan.hang_up = true;  // the upgrade request is read, then the connection drops
    } else {
      return [code, message](const courier::uri&, asio_detail::clock::time_point)
                 -> net::awaitable<std::unique_ptr<asio_detail::byte_stream>> {
        throw_error(make_error_code(code), message);
      };
    }
  } else {
    plan.refusal = std::move(d.reply);
  }
  if (self->virt && plan.delay.count() > 0) {
    const auto& opts = req.options();
    auto limit = opts.timeout ? std::min(opts.read_timeout, *opts.timeout) : opts.read_timeout;
    const bool times_out = plan.delay >= limit;
    const auto wait = times_out ? limit : plan.delay;
    plan.delay = std::chrono::milliseconds(0);
    if (on_clock) *on_clock = true;
    return [weak = std::weak_ptr(self), plan = std::move(plan), wait, times_out,
            what = describe(req)](const courier::uri&, asio_detail::clock::time_point) {
      return connect_stub_later(weak, plan, wait, times_out, what);
    };
  }
  return [weak = std::weak_ptr(self), plan = std::move(plan)](const courier::uri&,
                                                              asio_detail::clock::time_point) {
    auto self = weak.lock();
    if (!self) throw operation_aborted("the stub_backend was destroyed");
    return connect_stub(self, plan);
  };
}

template <class Value>
void record_open(stub_backend::impl& self, const request_data& req, clock::duration start,
                 std::exception_ptr e, const websocket_response<Value>* r) {
  recorded_exchange x{req, true};
  x.duration = self.elapsed() - start;
  if (e) {
    courier::detail::record_failure(x, e);
  } else {
    courier::detail::record_upgrade(x, *r);
  }
  self.rec.add(std::move(x));
}

template <class Handler>
websocket_response<typename Handler::value_type> open_sync(
    const std::shared_ptr<stub_backend::impl>& self, const request_data& req,
    const Handler& handler) {
  auto start = self->elapsed();
  try {
    self->io->check_blocking_allowed("stub_backend::open_websocket()");
    bool on_clock = false;
    auto connector = make_connector(self, req, &on_clock);
    if (on_clock && self->virt->automatic) {
      // Opened asynchronously, so that this thread can move the clock while it waits.
      using value = typename Handler::value_type;
      auto opened = std::make_shared<std::promise<websocket_response<value>>>();
      auto result = opened->get_future();
      asio_detail::async_open_websocket_over(
          self->io, req, handler,
          [opened](std::exception_ptr e, websocket_response<value> r) {
            if (e) {
              opened->set_exception(e);
            } else {
              opened->set_value(std::move(r));
            }
          },
          std::move(connector));
      auto r = self->wait(result);
      record_open(*self, req, start, nullptr, &r);
      return r;
    }
    auto r = asio_detail::open_websocket_over(*self->io, req, handler, std::move(connector));
    record_open(*self, req, start, nullptr, &r);
    return r;
  } catch (...) {
    record_open<typename Handler::value_type>(*self, req, start, std::current_exception(), nullptr);
    throw;
  }
}

template <class Handler, class Done>
void open_async(const std::shared_ptr<stub_backend::impl>& self, const request_data& req,
                const Handler& handler, Done done) {
  using value = typename Handler::value_type;
  auto start = self->elapsed();
  auto ex = net::get_associated_executor(done, self->io->ioc.get_executor());
  asio_detail::stream_connector connector;
  try {
    connector = make_connector(self, req);
  } catch (...) {
    auto e = std::current_exception();
    record_open<value>(*self, req, start, e, nullptr);
    net::post(self->io->ioc, [ex, done = std::move(done), e]() mutable {
      net::dispatch(ex, [done = std::move(done), e]() mutable {
        std::move(done)(e, websocket_response<value>{});
      });
    });
    return;
  }
  auto slot = done.get_cancellation_slot();
  Done recorded(net::bind_cancellation_slot(
      slot, net::bind_executor(ex, [weak = std::weak_ptr(self), req, start, done = std::move(done)](
                                       std::exception_ptr e, websocket_response<value> r) mutable {
        recorded_exchange x{req, true};
        if (auto self = weak.lock()) x.duration = self->elapsed() - start;
        if (e) {
          courier::detail::record_failure(x, e);
        } else {
          courier::detail::record_upgrade(x, r);
        }
        if (auto self = weak.lock()) self->rec.add(std::move(x));
        std::move(done)(e, std::move(r));
      })));
  asio_detail::async_open_websocket_over(self->io, req, handler, std::move(recorded),
                                         std::move(connector));
}

}  // namespace

websocket_response<ws::websocket> stub_backend::open_websocket(const request_data& req,
                                                               const ws::high_level& handler) {
  return open_sync(impl_, req, handler);
}

websocket_response<ws::sender> stub_backend::open_websocket(const request_data& req,
                                                            const ws::low_level& handler) {
  return open_sync(impl_, req, handler);
}

void stub_backend::async_open_websocket_raw(const request_data& req, const ws::high_level& handler,
                                            ws_open_handler<ws::high_level> done) {
  open_async(impl_, req, handler, std::move(done));
}

void stub_backend::async_open_websocket_raw(const request_data& req, const ws::low_level& handler,
                                            ws_open_handler<ws::low_level> done) {
  open_async(impl_, req, handler, std::move(done));
}

}  // namespace courier::testing
