#ifndef VG_COMMANDS_H
#define VG_COMMANDS_H

/* vigil's commands. Each takes its own argv (argv[0] is the command name) and returns the exit status. */

/* Exit statuses: 0 success, 1 runtime failure, 2 bad usage or bad input. */
enum { VG_EXIT_OK = 0, VG_EXIT_FAILURE = 1, VG_EXIT_BAD_INPUT = 2 };

int vg_cmd_serve(int argc, char **argv);
int vg_cmd_detect(int argc, char **argv);
int vg_cmd_inspect(int argc, char **argv);
int vg_cmd_bench(int argc, char **argv);
int vg_cmd_run(int argc, char **argv);
int vg_cmd_hash_password(int argc, char **argv);
int vg_cmd_check_config(int argc, char **argv);

#endif
