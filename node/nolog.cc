/*
 * nolog.cc - a RocksDB options object without an info log; see store.c.
 *
 * RocksDB writes an info log (db/LOG) from every process that opens a store
 * for writing, and its file writer, built with assertions as Debian builds
 * it, aborts the process at the next line logged once a write to that file
 * has failed: on a full disk, any command would abort.  linli-node keeps
 * its own log, so RocksDB gets a logger that keeps nothing.  The C API has
 * no call for that; rocksdb_options_t is, in RocksDB's c.cc, a struct
 * holding the Options, which this file declares the same way.
 */
#include <rocksdb/c.h>
#include <rocksdb/env.h>
#include <rocksdb/options.h>

#include <memory>

struct rocksdb_options_t {
  rocksdb::Options rep;
};

namespace {
class NullLogger : public rocksdb::Logger {
 public:
  using rocksdb::Logger::Logv;
  void Logv(const char *, va_list) override {}
};
} // namespace

extern "C" void
st_options_no_info_log(rocksdb_options_t *o)
{
  o->rep.info_log = std::make_shared<NullLogger>();
}
