/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <getopt.h>

#include "config.h"
#include "log.h"
#include "manager.h"
#include "paths.h"
#include "reload.h"

static void help(void) {
        printf("Usage: allowlistd [OPTIONS]\n"
               "Keeps nftables allow-lists of vendors' DNS names fresh, honouring their validity periods.\n\n"
               "  -c, --config FILE   configuration file (default " DEFAULT_CONFIG_FILE ")\n"
               "  -t, --check-config  validate the configuration, print a summary and exit\n"
               "      --once          resolve every host once, apply, save state and exit\n"
               "      --dry-run       with --once: print the nft script instead of applying it\n"
               "      --reload PID    check the configuration, have the daemon PID reload it and\n"
               "                      wait for its verdict (exit 0: in force; ExecReload=)\n"
               "      --status [ADDRESS|NAME]\n"
               "                      print what the daemon last recorded in its state file; for an\n"
               "                      address why it is allowed (exit 1 if not), for a group or host\n"
               "                      its addresses and health\n"
               "      --json          with --status: print JSON\n"
               "  -v, --verbose       log debug messages too\n"
               "  -h, --help          show this help\n"
               "  -V, --version       show the version\n\n"
               "Without --check-config, --once, --status or --reload it runs as a daemon in the foreground\n"
               "(systemd Type=notify). See allowlistd(8) and allowlistd.conf(5).\n");
}

int main(int argc, char *argv[]) {
        enum { ARG_ONCE = 0x100, ARG_DRY_RUN, ARG_STATUS, ARG_JSON, ARG_RELOAD };
        static const struct option options[] = {
                { "config",       required_argument, NULL, 'c' },
                { "check-config", no_argument,       NULL, 't' },
                { "once",         no_argument,       NULL, ARG_ONCE },
                { "dry-run",      no_argument,       NULL, ARG_DRY_RUN },
                { "status",       no_argument,       NULL, ARG_STATUS },
                { "reload",       required_argument, NULL, ARG_RELOAD },
                { "json",         no_argument,       NULL, ARG_JSON },
                { "verbose",      no_argument,       NULL, 'v' },
                { "help",         no_argument,       NULL, 'h' },
                { "version",      no_argument,       NULL, 'V' },
                {}
        };
        const char *config_path = DEFAULT_CONFIG_FILE;
        const char *status_what = NULL;
        bool check = false, once = false, dry_run = false, status = false, json = false, reload = false;
        pid_t reload_pid = 0;
        int c;

        log_open();

        while ((c = getopt_long(argc, argv, "c:tvhV", options, NULL)) >= 0)
                switch (c) {
                case 'c':
                        config_path = optarg;
                        break;
                case 't':
                        check = true;
                        break;
                case ARG_ONCE:
                        once = true;
                        break;
                case ARG_DRY_RUN:
                        dry_run = true;
                        break;
                case ARG_STATUS:
                        status = true;
                        break;
                case ARG_JSON:
                        json = true;
                        break;
                case ARG_RELOAD: {
                        char *end;
                        long v;

                        errno = 0;
                        v = strtol(optarg, &end, 10);
                        if (errno != 0 || end == optarg || *end || v <= 0 || v > INT32_MAX) {
                                log_error("--reload: '%s' is not a process ID.", optarg);
                                return 1;
                        }
                        reload = true;
                        reload_pid = (pid_t) v;
                        break;
                }
                case 'v':
                        log_set_max_level(LOG_DEBUG);
                        break;
                case 'h':
                        help();
                        return 0;
                case 'V':
                        printf("allowlistd %s\n", PACKAGE_VERSION);
                        return 0;
                default:
                        fprintf(stderr, "Try 'allowlistd --help'.\n");
                        return 1;
                }

        /* --status ADDRESS: the one argument that is not an option. */
        if (status && optind < argc)
                status_what = argv[optind++];
        if (optind < argc) {
                log_error("Unexpected argument '%s'. Try 'allowlistd --help'.", argv[optind]);
                return 1;
        }
        if ((int) check + (int) once + (int) status + (int) reload > 1) {
                log_error("--check-config, --once, --status and --reload exclude each other.");
                return 1;
        }
        if (dry_run && !once) {
                log_error("--dry-run goes with --once.");
                return 1;
        }
        if (json && !status) {
                log_error("--json goes with --status.");
                return 1;
        }

        if (check) {
                _cleanup_config_ struct config *config = NULL;

                if (config_load(config_path, &config) < 0)
                        return 1;
                config_print_summary(config, stdout);
                return config_check_runnable(config) < 0 ? 1 : 0;
        }
        if (status)
                return manager_status(config_path, status_what, json);
        if (reload)
                return reload_request(config_path, reload_pid);

        return manager_run(config_path, once ? (dry_run ? MANAGER_DRY_RUN : MANAGER_ONCE) : MANAGER_DAEMON);
}
