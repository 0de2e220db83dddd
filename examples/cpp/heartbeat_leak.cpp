// heartbeat_leak.cpp — C++ example for the README and `make test-examples`.
//
// A Session starts a std::thread heartbeat that waits on a
// std::condition_variable with a timeout and only stops when told to; the
// request handler forgets the Session (never calls stop()), so the heartbeat
// ticks on after the request thread is gone. A Flusher next to it is stopped
// and joined in its destructor: it must never be reported.
// The expected report facts are in heartbeat_leak.expect.
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

class Session {
  public:
    explicit Session(int id) : id_(id), heartbeat_([this] { heartbeat_loop(); }) {}
    void stop()
    {
        {
            std::lock_guard<std::mutex> lk(mu_);
            stop_ = true;
        }
        cv_.notify_all();
        heartbeat_.join();
    }

  private:
    void heartbeat_loop()
    {
        std::unique_lock<std::mutex> lk(mu_);
        while (!stop_)
            cv_.wait_for(lk, std::chrono::milliseconds(50)); // ticks every 50 ms
        (void)id_;
    }
    int id_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool stop_ = false;
    std::thread heartbeat_;
};

class Flusher {
  public:
    Flusher() : t_([this] { flush_loop(); }) {}
    ~Flusher()
    {
        {
            std::lock_guard<std::mutex> lk(mu_);
            stop_ = true;
        }
        cv_.notify_all();
        t_.join();
    }

  private:
    void flush_loop()
    {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [this] { return stop_; });
    }
    std::mutex mu_;
    std::condition_variable cv_;
    bool stop_ = false;
    std::thread t_;
};

static void serve_request(int id)
{
    Flusher flusher;              // correct: stopped and joined on scope exit
    Session *s = new Session(id); // the bug: the handler forgets the session
    (void)s;
}

int main()
{
    std::thread request(serve_request, 7);
    request.join();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    std::puts("heartbeat_leak: done");
    return 0;
}
