/*
 * warmpool's Kafka for tests: librdkafka's mock cluster (rdkafka_mock.h) in a small process, since no real
 * Apache Kafka can run on the machines the tests run on. The mock speaks the Kafka wire protocol on
 * 127.0.0.1, one listener per broker, on ports the kernel picks (librdkafka 2.0 has no way to choose them).
 *
 *   launcher --brokers N --topic NAME:PARTITIONS[:REPLICATION] [--topic …]
 *            [--ctl-in FIFO --ctl-out FIFO] [--pid-file PATH] [--debug CONTEXTS]
 *
 * Creates N brokers (ids 1..N) and the topics, then prints one line `BOOTSTRAP 127.0.0.1:PORT,…` on stdout
 * and flushes it. Then it reads commands, one a line, and answers each with one line, `OK[ detail]` or
 * `ERR reason`:
 *
 *   ping                              alive?
 *   bootstraps                        OK host:port,…
 *   down ID | up ID                   broker ID (or -1 for all) drops every connection and refuses new ones,
 *                                     or takes them again; no leader moves (the mock has no failover)
 *   errors APIKEY COUNT ERR           the next COUNT requests of APIKEY (number or name: Produce, Fetch,
 *                                     Metadata, OffsetCommit, JoinGroup, …) fail with ERR (Kafka error code,
 *                                     number or name such as NOT_LEADER_FOR_PARTITION), on any broker
 *   clear APIKEY                      drops the errors still queued for APIKEY
 *   topic NAME PARTITIONS [REPL]      creates another topic
 *   leader TOPIC PARTITION ID         moves the partition's leader to broker ID
 *   rtt ID MS                         delays every response of broker ID by MS milliseconds
 *   quit                              OK, then exits
 *
 * A line may start with a tag `@WORD `: the answer then starts with the same tag (infra/kafka/ctl matches
 * its answer by it). Commands come from the FIFO --ctl-in and answers go to the FIFO --ctl-out (both made
 * when missing, removed at exit); without them, from stdin to stdout, and end of stdin means quit.
 * --pid-file: our pid is written there (once the cluster is up, before the BOOTSTRAP line) and removed at
 * exit. --debug sets librdkafka's `debug` property on the handle the cluster lives on (`mock` logs every request
 * the brokers get; `all` is more). SIGTERM/SIGINT/SIGHUP: the cluster is destroyed and the process exits 0. Log lines go to stderr.
 *
 * Build: gcc -O2 -Wall -o launcher launcher.c $(pkg-config --cflags --libs rdkafka)
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define MAX_LINE 1024
#define MAX_TOPICS 64

static volatile sig_atomic_t stop_signal;
static rd_kafka_mock_cluster_t *mcluster;
static int broker_cnt;
static const char *ctl_in, *ctl_out, *debug, *pid_file;

static void on_signal(int sig) { stop_signal = sig; }

static void logf_(const char *fmt, ...) {
  char ts[32];
  struct timespec now;
  struct tm tm;
  va_list ap;
  clock_gettime(CLOCK_REALTIME, &now);
  localtime_r(&now.tv_sec, &tm);
  strftime(ts, sizeof ts, "%H:%M:%S", &tm);
  fprintf(stderr, "%s.%03ld launcher: ", ts, now.tv_nsec / 1000000);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

static void usage(FILE *to) {
  fprintf(to, "usage: launcher --brokers N --topic NAME:PARTITIONS[:REPLICATION] [--topic ...]"
              " [--ctl-in FIFO --ctl-out FIFO] [--pid-file PATH] [--debug CONTEXTS]\n");
}

/* parse_int: the whole of S is a decimal integer in [min, max]. */
static int parse_int(const char *s, long min, long max, long *out) {
  char *end;
  long v;
  if (!s || !*s) return 0;
  errno = 0;
  v = strtol(s, &end, 10);
  if (errno || *end || v < min || v > max) return 0;
  *out = v;
  return 1;
}

static const struct {
  const char *name;
  int key;
} api_keys[] = {
    {"Produce", 0},          {"Fetch", 1},           {"ListOffsets", 2},       {"Metadata", 3},
    {"OffsetCommit", 8},     {"OffsetFetch", 9},     {"FindCoordinator", 10},  {"JoinGroup", 11},
    {"Heartbeat", 12},       {"LeaveGroup", 13},     {"SyncGroup", 14},        {"DescribeGroups", 15},
    {"ListGroups", 16},      {"SaslHandshake", 17},  {"ApiVersions", 18},      {"CreateTopics", 19},
    {"DeleteTopics", 20},    {"DeleteRecords", 21},  {"InitProducerId", 22},   {"AddPartitionsToTxn", 24},
    {"AddOffsetsToTxn", 25}, {"EndTxn", 26},         {"TxnOffsetCommit", 28},  {"DescribeConfigs", 32},
    {"AlterConfigs", 33},    {"SaslAuthenticate", 36}, {"OffsetForLeaderEpoch", 23},
};

static int parse_api_key(const char *s, long *out) {
  size_t i;
  if (parse_int(s, 0, 32767, out)) return 1;
  for (i = 0; i < sizeof api_keys / sizeof api_keys[0]; i++)
    if (!strcasecmp(s, api_keys[i].name)) {
      *out = api_keys[i].key;
      return 1;
    }
  return 0;
}

/* A Kafka protocol error code: a number, or librdkafka's name of it (NOT_LEADER_FOR_PARTITION, with or
 * without an ERR_ / RD_KAFKA_RESP_ERR_ prefix). */
static int parse_err(const char *s, rd_kafka_resp_err_t *out) {
  const struct rd_kafka_err_desc *descs;
  size_t cnt, i;
  long v;
  if (parse_int(s, -200, 32767, &v)) {
    *out = (rd_kafka_resp_err_t)v;
    return 1;
  }
  if (!strncasecmp(s, "RD_KAFKA_RESP_ERR_", 18)) s += 18;
  else if (!strncasecmp(s, "ERR_", 4)) s += 4;
  rd_kafka_get_err_descs(&descs, &cnt);
  for (i = 0; i < cnt; i++)
    if (descs[i].name && !strcasecmp(descs[i].name, s)) {
      *out = descs[i].code;
      return 1;
    }
  return 0;
}

/* create_topic: NAME PARTITIONS REPLICATION, checked; returns NULL or the reason it failed. */
static const char *create_topic(const char *name, long partitions, long replication, char *why, size_t why_sz) {
  rd_kafka_resp_err_t err;
  if (!*name || strlen(name) > 249 || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                   "0123456789._-") != strlen(name)) {
    snprintf(why, why_sz, "bad topic name '%s'", name);
    return why;
  }
  if (replication < 1 || replication > broker_cnt) {
    snprintf(why, why_sz, "replication %ld for topic %s is not in 1..%d (the broker count)", replication, name,
             broker_cnt);
    return why;
  }
  err = rd_kafka_mock_topic_create(mcluster, name, (int)partitions, (int)replication);
  if (err) {
    snprintf(why, why_sz, "topic %s: %s (%s)", name, rd_kafka_err2name(err), rd_kafka_err2str(err));
    return why;
  }
  logf_("topic %s: %ld partitions, replication %ld", name, partitions, replication);
  return NULL;
}

static int broker_id_ok(long id) { return id == -1 || (id >= 1 && id <= broker_cnt); }

/* run_command: one command line (tag removed); writes the answer (without tag) into OUT. Returns 1 on quit. */
static int run_command(char *line, char *out, size_t out_sz) {
  char *argv[8];
  int argc = 0;
  char *save = NULL, *tok;
  long a, b, c;
  rd_kafka_resp_err_t err, code;
  char why[512];

  for (tok = strtok_r(line, " \t", &save); tok && argc < 8; tok = strtok_r(NULL, " \t", &save))
    argv[argc++] = tok;
  if (tok) {
    snprintf(out, out_sz, "ERR too many arguments");
    return 0;
  }
  if (argc == 0) {
    snprintf(out, out_sz, "ERR empty command");
    return 0;
  }
#define ARGS(n, usage_)                                                                                        \
  if (argc != (n) + 1) {                                                                                     \
    snprintf(out, out_sz, "ERR usage: %s", usage_);                                                          \
    return 0;                                                                                                \
  }
  if (!strcmp(argv[0], "ping")) {
    ARGS(0, "ping");
    snprintf(out, out_sz, "OK");
  } else if (!strcmp(argv[0], "bootstraps")) {
    ARGS(0, "bootstraps");
    snprintf(out, out_sz, "OK %s", rd_kafka_mock_cluster_bootstraps(mcluster));
  } else if (!strcmp(argv[0], "down") || !strcmp(argv[0], "up")) {
    int down = argv[0][0] == 'd';
    ARGS(1, down ? "down BROKER_ID" : "up BROKER_ID");
    if (!parse_int(argv[1], -1, 1 << 30, &a) || !broker_id_ok(a)) {
      snprintf(out, out_sz, "ERR no broker '%s' (ids are 1..%d, or -1 for all)", argv[1], broker_cnt);
      return 0;
    }
    err = down ? rd_kafka_mock_broker_set_down(mcluster, (int32_t)a)
               : rd_kafka_mock_broker_set_up(mcluster, (int32_t)a);
    if (err) snprintf(out, out_sz, "ERR %s: %s", rd_kafka_err2name(err), rd_kafka_err2str(err));
    else {
      snprintf(out, out_sz, "OK");
      logf_("broker %ld %s", a, down ? "down" : "up");
    }
  } else if (!strcmp(argv[0], "errors")) {
    rd_kafka_resp_err_t *errs;
    ARGS(3, "errors APIKEY COUNT ERRCODE");
    if (!parse_api_key(argv[1], &a)) {
      snprintf(out, out_sz, "ERR unknown ApiKey '%s'", argv[1]);
      return 0;
    }
    if (!parse_int(argv[2], 1, 100000, &b)) {
      snprintf(out, out_sz, "ERR COUNT '%s' is not in 1..100000", argv[2]);
      return 0;
    }
    if (!parse_err(argv[3], &code)) {
      snprintf(out, out_sz, "ERR unknown error code '%s'", argv[3]);
      return 0;
    }
    if (!(errs = calloc((size_t)b, sizeof *errs))) {
      snprintf(out, out_sz, "ERR out of memory");
      return 0;
    }
    for (c = 0; c < b; c++) errs[c] = code;
    rd_kafka_mock_push_request_errors_array(mcluster, (int16_t)a, (size_t)b, errs);
    free(errs);
    snprintf(out, out_sz, "OK");
    logf_("next %ld requests of ApiKey %ld fail with %s", b, a, rd_kafka_err2name(code));
  } else if (!strcmp(argv[0], "clear")) {
    ARGS(1, "clear APIKEY");
    if (!parse_api_key(argv[1], &a)) {
      snprintf(out, out_sz, "ERR unknown ApiKey '%s'", argv[1]);
      return 0;
    }
    rd_kafka_mock_clear_request_errors(mcluster, (int16_t)a);
    snprintf(out, out_sz, "OK");
  } else if (!strcmp(argv[0], "topic")) {
    const char *failed;
    if (argc != 3 && argc != 4) {
      snprintf(out, out_sz, "ERR usage: topic NAME PARTITIONS [REPLICATION]");
      return 0;
    }
    if (!parse_int(argv[2], 1, 10000, &a)) {
      snprintf(out, out_sz, "ERR PARTITIONS '%s' is not in 1..10000", argv[2]);
      return 0;
    }
    b = broker_cnt < 3 ? broker_cnt : 3;
    if (argc == 4 && !parse_int(argv[3], 1, 1000, &b)) {
      snprintf(out, out_sz, "ERR REPLICATION '%s' is not a positive number", argv[3]);
      return 0;
    }
    if ((failed = create_topic(argv[1], a, b, why, sizeof why))) snprintf(out, out_sz, "ERR %s", failed);
    else snprintf(out, out_sz, "OK");
  } else if (!strcmp(argv[0], "leader")) {
    ARGS(3, "leader TOPIC PARTITION BROKER_ID");
    if (!parse_int(argv[2], 0, 1 << 30, &a) || !parse_int(argv[3], 1, broker_cnt, &b)) {
      snprintf(out, out_sz, "ERR bad PARTITION or BROKER_ID (ids are 1..%d)", broker_cnt);
      return 0;
    }
    err = rd_kafka_mock_partition_set_leader(mcluster, argv[1], (int32_t)a, (int32_t)b);
    if (err) snprintf(out, out_sz, "ERR %s: %s", rd_kafka_err2name(err), rd_kafka_err2str(err));
    else {
      snprintf(out, out_sz, "OK");
      logf_("leader of %s [%ld] is broker %ld", argv[1], a, b);
    }
  } else if (!strcmp(argv[0], "rtt")) {
    ARGS(2, "rtt BROKER_ID MS");
    if (!parse_int(argv[1], -1, 1 << 30, &a) || !broker_id_ok(a) || !parse_int(argv[2], 0, 600000, &b)) {
      snprintf(out, out_sz, "ERR bad BROKER_ID (1..%d, -1) or MS (0..600000)", broker_cnt);
      return 0;
    }
    err = rd_kafka_mock_broker_set_rtt(mcluster, (int32_t)a, (int)b);
    if (err) snprintf(out, out_sz, "ERR %s: %s", rd_kafka_err2name(err), rd_kafka_err2str(err));
    else snprintf(out, out_sz, "OK");
  } else if (!strcmp(argv[0], "quit")) {
    ARGS(0, "quit");
    snprintf(out, out_sz, "OK");
    return 1;
  } else {
    snprintf(out, out_sz, "ERR unknown command '%s' (ping, bootstraps, down, up, errors, clear, topic, leader, "
                          "rtt, quit)",
             argv[0]);
  }
#undef ARGS
  return 0;
}

/* answer: one line to stdout, or to the --ctl-out FIFO when someone holds it open for reading (a caller
 * that gave up waiting does not block us). */
static void answer(const char *line) {
  int fd = -1, i;
  size_t len = strlen(line);
  if (!ctl_out) {
    fprintf(stdout, "%s\n", line);
    fflush(stdout);
    return;
  }
  for (i = 0; i < 100 && fd < 0; i++) {
    fd = open(ctl_out, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0 && errno == ENXIO) usleep(10000); /* no reader (yet) */
    else if (fd < 0) break;
  }
  if (fd < 0) {
    logf_("answer '%s' dropped: cannot open %s: %s", line, ctl_out, strerror(errno));
    return;
  }
  {
    char buf[MAX_LINE + 600];
    int n = snprintf(buf, sizeof buf, "%s\n", line);
    if (n < 0 || (size_t)n >= sizeof buf) n = (int)len;
    if (write(fd, buf, (size_t)n) != n) logf_("answer '%s' dropped: %s", line, strerror(errno));
  }
  close(fd);
}

/* handle_line: one raw line; returns 1 on quit. */
static int handle_line(char *line) {
  char tag[64] = "", out[MAX_LINE + 512], reply[MAX_LINE + 600];
  size_t len = strlen(line);
  int quit;
  while (len && isspace((unsigned char)line[len - 1])) line[--len] = '\0';
  while (isspace((unsigned char)*line)) line++;
  if (!*line) return 0;
  if (*line == '@') {
    size_t n = strcspn(line, " \t");
    if (n >= sizeof tag) n = sizeof tag - 1;
    memcpy(tag, line, n);
    tag[n] = '\0';
    line += strcspn(line, " \t");
    while (isspace((unsigned char)*line)) line++;
  }
  logf_("command: %s", line);
  quit = run_command(line, out, sizeof out);
  snprintf(reply, sizeof reply, "%s%s%s", tag, *tag ? " " : "", out);
  if (!strncmp(out, "ERR", 3)) logf_("%s", out);
  answer(reply);
  return quit;
}

static int make_fifo(const char *path) {
  struct stat st;
  if (lstat(path, &st) == 0) {
    if (S_ISFIFO(st.st_mode)) return 1;
    fprintf(stderr, "launcher: %s exists and is not a FIFO\n", path);
    return 0;
  }
  if (mkfifo(path, 0600) != 0) {
    fprintf(stderr, "launcher: mkfifo %s: %s\n", path, strerror(errno));
    return 0;
  }
  return 1;
}

int main(int argc, char **argv) {
  struct {
    char *name;
    long partitions, replication;
  } topics[MAX_TOPICS];
  int topic_cnt = 0, i, in_fd = STDIN_FILENO, rc = 0, quit = 0;
  long brokers = 0;
  rd_kafka_conf_t *conf;
  rd_kafka_t *rk;
  char errstr[512], why[512], buf[MAX_LINE * 4];
  size_t have = 0;
  struct sigaction sa;

  for (i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(a, "--brokers") && v) {
      if (!parse_int(v, 1, 64, &brokers)) {
        fprintf(stderr, "launcher: --brokers '%s' is not in 1..64\n", v);
        return 2;
      }
      i++;
    } else if (!strcmp(a, "--topic") && v) {
      char *spec = strdup(v), *p1, *p2;
      long parts, repl = -1;
      if (topic_cnt == MAX_TOPICS) {
        fprintf(stderr, "launcher: more than %d topics\n", MAX_TOPICS);
        return 2;
      }
      p1 = strchr(spec, ':');
      if (p1) *p1++ = '\0';
      p2 = p1 ? strchr(p1, ':') : NULL;
      if (p2) *p2++ = '\0';
      if (!p1 || !parse_int(p1, 1, 10000, &parts) || (p2 && !parse_int(p2, 1, 1000, &repl))) {
        fprintf(stderr, "launcher: --topic '%s' is not NAME:PARTITIONS[:REPLICATION]\n", v);
        return 2;
      }
      topics[topic_cnt].name = spec;
      topics[topic_cnt].partitions = parts;
      topics[topic_cnt].replication = repl;
      topic_cnt++;
      i++;
    } else if (!strcmp(a, "--ctl-in") && v) {
      ctl_in = v;
      i++;
    } else if (!strcmp(a, "--pid-file") && v) {
      pid_file = v;
      i++;
    } else if (!strcmp(a, "--debug") && v) {
      debug = v;
      i++;
    } else if (!strcmp(a, "--ctl-out") && v) {
      ctl_out = v;
      i++;
    } else {
      fprintf(stderr, "launcher: unknown or incomplete argument '%s'\n", a);
      usage(stderr);
      return 2;
    }
  }
  if (!brokers) {
    usage(stderr);
    return 2;
  }
  if (!ctl_in != !ctl_out) {
    fprintf(stderr, "launcher: --ctl-in and --ctl-out go together\n");
    return 2;
  }
  broker_cnt = (int)brokers;

  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal; /* no SA_RESTART: poll() returns EINTR */
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  if (ctl_in) {
    if (!make_fifo(ctl_in) || !make_fifo(ctl_out)) return 1;
    /* O_RDWR: never sees end of file when a writer closes, and the open does not block. */
    in_fd = open(ctl_in, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (in_fd < 0) {
      fprintf(stderr, "launcher: open %s: %s\n", ctl_in, strerror(errno));
      return 1;
    }
  }

  /* The mock cluster lives on a client handle; this producer never connects anywhere itself. */
  conf = rd_kafka_conf_new();
  /* log_level 4: warnings and worse (not the notice that this handle has no bootstrap.servers). */
  if (rd_kafka_conf_set(conf, "client.id", "warmpool-kafka-mock", errstr, sizeof errstr) != RD_KAFKA_CONF_OK ||
      rd_kafka_conf_set(conf, "log_level", "4", errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "launcher: %s\n", errstr);
    return 1;
  }
  if (debug && (rd_kafka_conf_set(conf, "debug", debug, errstr, sizeof errstr) != RD_KAFKA_CONF_OK ||
                rd_kafka_conf_set(conf, "log_level", "7", errstr, sizeof errstr) != RD_KAFKA_CONF_OK)) {
    fprintf(stderr, "launcher: --debug %s: %s\n", debug, errstr);
    return 1;
  }
  rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!rk) {
    fprintf(stderr, "launcher: rd_kafka_new: %s\n", errstr);
    return 1;
  }
  mcluster = rd_kafka_mock_cluster_new(rk, broker_cnt);
  if (!mcluster) {
    fprintf(stderr, "launcher: rd_kafka_mock_cluster_new(%d) failed\n", broker_cnt);
    rd_kafka_destroy(rk);
    return 1;
  }
  logf_("librdkafka %s mock cluster: %d brokers on %s", rd_kafka_version_str(), broker_cnt,
        rd_kafka_mock_cluster_bootstraps(mcluster));
  for (i = 0; i < topic_cnt; i++) {
    long repl = topics[i].replication > 0 ? topics[i].replication : (broker_cnt < 3 ? broker_cnt : 3);
    if (create_topic(topics[i].name, topics[i].partitions, repl, why, sizeof why)) {
      fprintf(stderr, "launcher: %s\n", why);
      rc = 1;
      goto out;
    }
  }

  if (pid_file) {
    FILE *f = fopen(pid_file, "w");
    if (!f || fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f) != 0) {
      fprintf(stderr, "launcher: cannot write %s: %s\n", pid_file, strerror(errno));
      rc = 1;
      goto out;
    }
  }
  printf("BOOTSTRAP %s\n", rd_kafka_mock_cluster_bootstraps(mcluster));
  fflush(stdout);

  while (!stop_signal && !quit) {
    struct pollfd pfd = {.fd = in_fd, .events = POLLIN};
    ssize_t n;
    char *nl;
    int r = poll(&pfd, 1, 500);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      logf_("poll: %s", strerror(errno));
      rc = 1;
      break;
    }
    if (r == 0) continue;
    n = read(in_fd, buf + have, sizeof buf - 1 - have);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) {
      logf_("read: %s", strerror(errno));
      rc = 1;
      break;
    }
    if (n == 0) { /* end of stdin (a FIFO opened O_RDWR never ends) */
      logf_("end of input: quitting");
      break;
    }
    have += (size_t)n;
    buf[have] = '\0';
    while (!quit && (nl = memchr(buf, '\n', have))) {
      *nl = '\0';
      quit = handle_line(buf);
      have -= (size_t)(nl + 1 - buf);
      memmove(buf, nl + 1, have);
      buf[have] = '\0';
    }
    if (have == sizeof buf - 1) { /* a line longer than the buffer: drop it */
      logf_("command line too long: dropped");
      have = 0;
    }
  }
  if (stop_signal) logf_("signal %d: shutting down", (int)stop_signal);

out:
  rd_kafka_mock_cluster_destroy(mcluster);
  rd_kafka_destroy(rk);
  if (ctl_in) {
    close(in_fd);
    unlink(ctl_in);
    unlink(ctl_out);
  }
  if (pid_file) unlink(pid_file);
  for (i = 0; i < topic_cnt; i++) free(topics[i].name);
  logf_("stopped");
  return rc;
}
