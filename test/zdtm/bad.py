"""The bad-input tests: snap fed wrong pids, damaged images, full disks, or
killed halfway must fail with one clear line (naming the object) and leave
nothing behind. BadRun is what each test gets; BAD lists them, in the order
they run, after the zdtm tests. The tests themselves are in the bad_*.py
modules, one per area (dump, restore, live, ns, netns, notify, unix, inet,
modules, one per area (dump, restore, live, ns, pidns, notify, unix, inet,
anon, tty, lock, mem, pageserver, incr);
modules, one per area (dump, restore, live, ns, notify, unix, inet, anon,
tty, lock, mem, pageserver, incr, rpc); runc.py drives
Debian's runc through snap (runc/*);
adding one is a function there and a line here (README.md). The same
harness runs the real-server tests, srv/* (srv_redis.py, srv_http.py, with
servers.py): redis, nginx and python's http.server started on a free port,
dumped under load."""

import os
import re
import shutil

import bad_anon
import bad_cgroup
import bad_dump
import bad_incr
import bad_inherit
import bad_inet
import bad_ipc
import bad_lazy
import bad_lazyps
import bad_live
import bad_lock
import bad_migrate
import bad_mnt
import bad_mem
import bad_extns
import bad_netns
import bad_notify
import bad_ns
import bad_pageserver
import bad_pidnest
import bad_pidns
import bad_restore
import bad_rpc
import bad_rpc_incr
import bad_rpc_service
import bad_tty
import bad_unix
import runc
import runc_mounts
import srv_http
import srv_postgres
import srv_redis
import srv_tcpdump
from outcome import Failure
from proc import describe, descendants, exit_code, spawn_wait
from snap import last_line
from testrun import Run
import tests


class BadRun:
    """Helpers for the tests that feed snap bad input."""

    def __init__(self, ctx, name, root):
        self.ctx, self.name, self.snap = ctx, name, ctx.snap
        self.dir = os.path.join(root, re.sub(r"[/:]", "_", name))
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.runs = []
        self.mounts = []
        self.cleanups = []   # functions run at cleanup

    def target(self, test="static/mem_heap", label="target"):
        """A running zdtm test to dump: a test's name, or a tests.Test."""
        t = tests.find(test) if isinstance(test, str) else test
        r = Run(self.ctx, t, self.dir, label=label)
        self.runs.append(r)
        r.start()
        return r

    def image(self, test="static/mem_heap"):
        """Images of a dumped (and so killed) test."""
        r = self.target(test)
        try:
            r.dump()
            r.wait_gone("dump")
        except Failure as f:
            raise Failure("setup: " + f.reason, f.log)
        return r

    def snap_fails(self, args, mention, workdir=None, env=None):
        """Run snap, expect exit 1 and a short stderr that names @mention."""
        before = descendants()
        workdir = workdir or self.dir
        status, err = self.snap.run(args, workdir, "snap", timeout=30, env=env)
        errfile = os.path.join(workdir, "snap.err")
        cmd = "`snap %s`" % " ".join(args)
        if exit_code(status) != 1:
            raise Failure("%s %s, expected exit 1" % (cmd, describe(status)), errfile)
        lines = err.strip().splitlines()
        if not lines:
            raise Failure("%s failed without a message" % cmd)
        if len(lines) > 2:
            raise Failure("%s printed %d lines on stderr, expected 1-2" % (cmd, len(lines)),
                          errfile)
        if not any(re.search(m, err) for m in mention):
            raise Failure("the error does not name %s: %s" % (" or ".join(mention),
                                                              last_line(err)), errfile)
        left = descendants() - before
        if left:
            raise Failure("processes left behind: %s" % sorted(left), errfile)
        return err

    def cleanup(self):
        for r in self.runs:
            r.cleanup()
        for m in self.mounts:
            spawn_wait(["/bin/umount", "-l", m])
        for f in self.cleanups:
            f()


BAD = [
    ("bad/dump_nopid", bad_dump.bad_dump_nopid),
    ("bad/dump_kthread", bad_dump.bad_dump_kthread),
    ("bad/dump_root_removed", bad_dump.bad_dump_root_removed),
    ("bad/dump_link_remap", bad_dump.bad_dump_link_remap),
    ("bad/dump_enospc", bad_dump.bad_dump_enospc),
    ("bad/dump_enospc_spliced", bad_dump.bad_dump_enospc_spliced),
    ("bad/dump_seccomp_nocap", bad_dump.bad_dump_seccomp_nocap),
    ("bad/live_shm_enospc", bad_live.bad_live_shm_enospc),
    ("bad/lazy_server_killed", bad_lazy.bad_lazy_server_killed),
    ("bad/lazy_server_killed_pidns", bad_lazy.bad_lazy_server_killed_pidns),
    ("bad/lazy_page_server_killed", bad_lazyps.bad_lazy_page_server_killed),
    ("bad/lazy_page_server_trunc", bad_lazyps.bad_lazy_page_server_trunc),
    ("bad/lazy_incr_parent_missing", bad_lazyps.bad_lazy_incr_parent_missing),
    ("lazy/page_server_netns", bad_lazyps.lazy_page_server_netns),
    ("lazy/dump_serves", bad_lazyps.lazy_dump),
    ("rpc/lazy_dump", bad_lazyps.rpc_lazy_dump),
    ("bad/lazy_dump_port_taken", bad_lazyps.bad_lazy_dump_port_taken),
    ("bad/restore_nodir", bad_restore.bad_restore_nodir),
    ("bad/restore_trunc_core", bad_restore.bad_restore_trunc_core),
    ("bad/restore_thread_tid", bad_restore.bad_restore_thread_tid),
    ("bad/restore_corrupt_mm", bad_restore.bad_restore_corrupt_mm),
    ("bad/restore_trunc_pages", bad_restore.bad_restore_trunc_pages),
    ("bad/restore_trunc_shmem", bad_restore.bad_restore_trunc_shmem),
    ("bad/restore_corrupt_shmem", bad_restore.bad_restore_corrupt_shmem),
    ("bad/restore_ghost_extents", bad_mem.bad_restore_ghost_extents),
    ("bad/dump_ghost_limit", bad_mem.bad_dump_ghost_limit),
    ("bad/restore_droppable_pages", bad_mem.bad_restore_droppable_pages),
    ("bad/restore_hugetlb_pool", bad_mem.bad_restore_hugetlb_pool),
    ("bad/restore_shmem_huge_size", bad_mem.bad_restore_shmem_huge_size),
    ("bad/incr_parent_missing", bad_incr.bad_incr_parent_missing),
    ("bad/incr_parent_trunc", bad_incr.bad_incr_parent_trunc),
    ("bad/incr_parent_swapped", bad_incr.bad_incr_parent_swapped),
    ("bad/incr_parent_other_pid", bad_incr.bad_incr_parent_other_pid),
    ("bad/incr_parent_full_dump", bad_incr.bad_incr_parent_full_dump),
    ("bad/incr_restore_predump", bad_incr.bad_incr_restore_predump),
    ("bad/incr_catchup_failed", bad_incr.bad_incr_catchup_failed),
    ("bad/incr_catchup_failed_live", bad_incr.bad_incr_catchup_failed_live),
    ("img/incr_dedup", bad_incr.img_incr_dedup),
    ("migrate/netns", bad_migrate.migrate_netns),
    ("bad/restore_cow_uncovered", bad_mem.bad_restore_cow_uncovered),
    ("bad/restore_cow_orphan", bad_mem.bad_restore_cow_orphan),
    ("bad/restore_pid_busy", bad_restore.bad_restore_pid_busy),
    ("bad/restore_tree_child_fails", bad_restore.bad_restore_tree_child_fails),
    ("bad/dump_lost_session", bad_dump.bad_dump_lost_session),
    ("bad/dump_sched_deadline", bad_dump.bad_dump_sched_deadline),
    ("bad/dump_other_ns", bad_dump.bad_dump_other_ns),
    ("bad/dump_child_other_ns", bad_dump.bad_dump_child_other_ns),
    ("bad/dump_pending_pidns", bad_dump.bad_dump_pending_pidns),
    ("dump/leave_stopped", bad_dump.dump_leave_stopped),
    ("restore/sibling_cli", bad_dump.restore_sibling_cli),
    ("pidns/new_twice", bad_pidns.pidns_new_twice),
    ("img/pidns_subtree", bad_pidns.img_pidns_subtree),
    ("img/pidns_outside_session", bad_pidns.img_pidns_outside_session),
    ("bad/restore_pidns_pid1", bad_pidns.bad_restore_pidns_pid1),
    ("bad/dump_pidns_outside_session", bad_pidns.bad_dump_pidns_outside_session),
    ("bad/dump_pidns_nested_not_init", bad_pidnest.bad_dump_pidns_nested_not_init),
    ("bad/dump_pidns_nested_init_gone", bad_pidnest.bad_dump_pidns_nested_init_gone),
    ("bad/dump_pidns_nested_userns", bad_pidnest.bad_dump_pidns_nested_userns),
    ("bad/restore_pidns_nested_init", bad_pidnest.bad_restore_pidns_nested_init),
    ("bad/dump_pidns_nested_proc", bad_pidnest.bad_dump_pidns_nested_proc),
    ("bad/live_target_exits", bad_live.bad_live_target_exits),
    ("bad/live_kill_snap", bad_live.bad_live_kill_snap),
    ("bad/live_holder_killed", bad_live.bad_live_holder_killed),
    ("img/live_holder_pids_max", bad_live.img_live_holder_pids_max),
    ("bad/stale_parasite", bad_live.bad_stale_parasite),
    ("bad/live_fd_limit", bad_live.bad_live_fd_limit),
    ("bad/live_fd_refused", bad_live.bad_live_fd_refused),
    ("bad/restore_ns_trunc", bad_ns.bad_restore_ns_trunc),
    ("bad/restore_ns_corrupt", bad_ns.bad_restore_ns_corrupt),
    ("bad/restore_ns_dup_id", bad_ns.bad_restore_ns_dup_id),
    ("bad/restore_ns_kind", bad_ns.bad_restore_ns_kind),
    ("bad/restore_ns_missing_id", bad_ns.bad_restore_ns_missing_id),
    ("img/ns_ids", bad_ns.img_ns_ids),
    ("img/ns_old_images", bad_ns.img_ns_old_images),
    ("bad/dump_mnt_not_external", bad_mnt.bad_dump_mnt_not_external),
    ("bad/dump_mnt_ramfs", bad_mnt.bad_dump_mnt_ramfs),
    ("bad/restore_mnt_root_missing", bad_mnt.bad_restore_mnt_root_missing),
    ("bad/restore_mnt_no_external", bad_mnt.bad_restore_mnt_no_external),
    ("mnt/runc_mntns", bad_mnt.mnt_runc_mntns),
    ("bad/restore_ipc_corrupt", bad_ipc.bad_restore_ipc_corrupt),
    ("bad/restore_ipc_trunc_pages", bad_ipc.bad_restore_ipc_trunc_pages),
    ("bad/dump_ipc_posix_mq", bad_ipc.bad_dump_ipc_posix_mq),
    ("img/cgroup_root", bad_cgroup.img_cgroup_root),
    ("img/cgroup_full", bad_cgroup.img_cgroup_full),
    ("img/cgroup_props", bad_cgroup.img_cgroup_props),
    ("img/cgroup_soft_keeps", bad_cgroup.img_cgroup_soft_keeps),
    ("bad/cgroup_none_missing", bad_cgroup.bad_cgroup_none_missing),
    ("bad/cgroup_strict_root", bad_cgroup.bad_cgroup_strict_root),
    ("bad/cgroup_strict_exists", bad_cgroup.bad_cgroup_strict_exists),
    ("bad/cgroup_unknown_ctrl", bad_cgroup.bad_cgroup_unknown_ctrl),
    ("img/cgroup_ns", bad_cgroup.img_cgroup_ns),
    ("img/cgroup_freeze", bad_cgroup.img_cgroup_freeze),
    ("bad/cgroup_freeze_fails", bad_cgroup.bad_cgroup_freeze_fails),
    ("bad/dump_inotify_deleted", bad_notify.bad_dump_inotify_deleted),
    ("bad/dump_fanotify_mntns", bad_notify.bad_dump_fanotify_mntns),
    ("bad/dump_file_locks", bad_notify.bad_dump_file_locks),
    ("bad/dump_file_locks_mapped", bad_notify.bad_dump_file_locks_mapped),
    ("bad/dump_file_lease_breaking", bad_notify.bad_dump_file_lease_breaking),
    ("bad/restore_locks_trunc", bad_notify.bad_restore_locks_trunc),
    ("bad/restore_locks_corrupt", bad_notify.bad_restore_locks_corrupt),
    ("bad/restore_locks_fd", bad_notify.bad_restore_locks_fd),
    ("bad/restore_inotify_wd", bad_notify.bad_restore_inotify_wd),
    ("bad/restore_inotify_gone", bad_notify.bad_restore_inotify_gone),
    ("bad/restore_fanotify_kind", bad_notify.bad_restore_fanotify_kind),
    ("bad/restore_fanotify_in_tree", bad_notify.bad_restore_fanotify_in_tree),
    ("bad/restore_fanotify_in_tree_kind", bad_notify.bad_restore_fanotify_in_tree_kind),
    ("bad/restore_unix_queues_trunc", bad_unix.bad_restore_unix_queues_trunc),
    ("bad/restore_unix_queues_corrupt", bad_unix.bad_restore_unix_queues_corrupt),
    ("bad/restore_unix_queue_ino", bad_unix.bad_restore_unix_queue_ino),
    ("bad/restore_unix_queue_fd", bad_unix.bad_restore_unix_queue_fd),
    ("bad/restore_unix_type", bad_unix.bad_restore_unix_type),
    ("bad/restore_unix_peer", bad_unix.bad_restore_unix_peer),
    ("bad/restore_netlink_proto", bad_unix.bad_restore_netlink_proto),
    ("bad/dump_unix_ext_refused", bad_unix.bad_dump_unix_ext_refused),
    ("bad/dump_unix_pending_ext", bad_unix.bad_dump_unix_pending_ext),
    ("bad/dump_unix_ebpf", bad_unix.bad_dump_unix_ebpf),
    ("bad/dump_unix_chroot", bad_unix.bad_dump_unix_chroot),
    ("bad/dump_unix_chroot_ns", bad_unix.bad_dump_unix_chroot_ns),
    ("bad/restore_unix_root_bind", bad_unix.bad_restore_unix_root_bind),
    ("bad/dump_unix_inflight_pidfd", bad_unix.bad_dump_unix_inflight_pidfd),
    ("bad/dump_unix_inflight_proc", bad_unix.bad_dump_unix_inflight_proc),
    ("bad/dump_inet_established", bad_inet.bad_dump_tcp_established),
    ("bad/dump_inet_waiting", bad_inet.bad_dump_tcp_waiting),
    ("img/inet_waiting_live", bad_inet.img_inet_waiting_live),
    ("bad/dump_inet_fails_late", bad_inet.bad_dump_inet_fails_late),
    ("bad/dump_inet_udp_corked", bad_inet.bad_dump_udp_corked),
    ("bad/dump_inet_other_netns", bad_inet.bad_dump_other_netns),
    ("bad/dump_netns_veth", bad_netns.bad_dump_netns_veth),
    ("bad/restore_netns_iface", bad_netns.bad_restore_netns_iface),
    ("bad/restore_netns_sysctl", bad_netns.bad_restore_netns_sysctl),
    ("bad/netlock_other_netns", bad_netns.bad_netlock_other_netns),
    ("img/netns_join", bad_netns.img_netns_join),
    ("img/netns_external", bad_extns.img_netns_external),
    ("img/netns_external_other", bad_extns.img_netns_external_other),
    ("img/netns_external_live", bad_extns.img_netns_external_live),
    ("img/netns_external_rpc", bad_extns.img_netns_external_rpc),
    ("bad/dump_external_inode", bad_extns.bad_dump_external_inode),
    ("bad/restore_external_no_inherit", bad_extns.bad_restore_external_no_inherit),
    ("bad/restore_external_not_netns", bad_extns.bad_restore_external_not_netns),
    ("bad/external_kinds", bad_extns.bad_external_kinds),
    ("img/pidns_external", bad_extns.img_pidns_external),
    ("img/pidns_external_live", bad_extns.img_pidns_external_live),
    ("bad/restore_pidns_no_inherit", bad_extns.bad_restore_pidns_no_inherit),
    ("img/pidns_external_pid_taken", bad_extns.img_pidns_external_pid_taken),
    ("bad/restore_pidns_pid_taken", bad_extns.bad_restore_pidns_pid_taken),
    ("bad/dump_packet_ring", bad_inet.bad_dump_packet_ring),
    ("bad/dump_packet_fanout", bad_inet.bad_dump_packet_fanout),
    ("bad/dump_packet_fanout_cbpf", bad_inet.bad_dump_packet_fanout_cbpf),
    ("bad/restore_packet_fanout", bad_inet.bad_restore_packet_fanout),
    ("bad/restore_mlock_future", bad_mem.bad_restore_mlock_future),
    ("bad/dump_packet_ring_unheld", bad_inet.bad_dump_packet_ring_unheld),
    ("bad/restore_packet_ring", bad_inet.bad_restore_packet_ring),
    ("bad/restore_inet_queues_trunc", bad_inet.bad_restore_inet_queues_trunc),
    ("bad/restore_inet_queues_corrupt", bad_inet.bad_restore_inet_queues_corrupt),
    ("bad/restore_inet_family", bad_inet.bad_restore_inet_family),
    ("bad/restore_inet_state", bad_inet.bad_restore_inet_state),
    ("bad/restore_inet_queue_ino", bad_inet.bad_restore_inet_queue_ino),
    ("bad/restore_inet_no_option", bad_inet.bad_restore_tcp_no_option),
    ("bad/restore_inet_port_taken", bad_inet.bad_restore_port_taken),
    ("img/inet_tcp_ext_peer", bad_inet.img_inet_tcp_ext_peer),
    ("img/inet_tcp_ext_peer_stopped", bad_inet.img_inet_tcp_ext_peer_stopped),
    ("img/inet_tcp_skip_in_flight", bad_inet.img_inet_tcp_skip_in_flight),
    ("img/inet_tcp_peer_reset", bad_inet.img_inet_tcp_peer_reset),
    ("bad/dump_io_uring", bad_anon.bad_dump_io_uring),
    ("bad/dump_bpf_map", bad_anon.bad_dump_bpf_map),
    ("bad/dump_perf_event", bad_anon.bad_dump_perf_event),
    ("bad/dump_userfaultfd", bad_anon.bad_dump_userfaultfd),
    ("bad/dump_epoll_outside", bad_anon.bad_dump_epoll_outside),
    ("bad/dump_pidfd_outside", bad_anon.bad_dump_pidfd_outside),
    ("bad/restore_epoll_tfds_trunc", bad_anon.bad_restore_epoll_tfds_trunc),
    ("bad/restore_epoll_tfds_corrupt", bad_anon.bad_restore_epoll_tfds_corrupt),
    ("bad/restore_epoll_tfds_missing", bad_anon.bad_restore_epoll_tfds_missing),
    ("bad/restore_epoll_tfds_target", bad_anon.bad_restore_epoll_tfds_target),
    ("bad/restore_epoll_count", bad_anon.bad_restore_epoll_count),
    ("bad/restore_eventfd_count", bad_anon.bad_restore_eventfd_count),
    ("bad/restore_timerfd_flags", bad_anon.bad_restore_timerfd_flags),
    ("bad/restore_pidfd_pid", bad_anon.bad_restore_pidfd_pid),
    ("img/timerfd_abs_gap", bad_anon.img_timerfd_abs_gap),
    ("bad/dump_tty_external", bad_tty.bad_dump_tty_external),
    ("bad/dump_pty_outside_slave", bad_tty.bad_dump_pty_outside_slave),
    ("bad/dump_pty_outside_ctty", bad_tty.bad_dump_pty_outside_ctty),
    ("bad/dump_pty_outside_master", bad_tty.bad_dump_pty_outside_master),
    ("bad/restore_trunc_tty_data", bad_tty.bad_restore_trunc_tty_data),
    ("bad/restore_corrupt_tty_data", bad_tty.bad_restore_corrupt_tty_data),
    ("bad/restore_trunc_fifo_data", bad_tty.bad_restore_trunc_fifo_data),
    ("bad/restore_corrupt_fifo_data", bad_tty.bad_restore_corrupt_fifo_data),
    ("bad/restore_tty_data_index", bad_tty.bad_restore_tty_data_index),
    ("bad/restore_pty_no_master", bad_tty.bad_restore_pty_no_master),
    ("bad/restore_pty_no_state", bad_tty.bad_restore_pty_no_state),
    ("bad/restore_pty_termios", bad_tty.bad_restore_pty_termios),
    ("bad/restore_fifo_id", bad_tty.bad_restore_fifo_id),
    ("img/pty_index_taken", bad_tty.img_pty_index_taken),
    ("img/pty_other_devpts", bad_tty.img_pty_other_devpts),
    ("lock/tcp_ipv4", bad_lock.lock_tcp_ipv4),
    ("lock/tcp_ipv6", bad_lock.lock_tcp_ipv6),
    ("lock/tcp_v4mapped", bad_lock.lock_tcp_v4mapped),
    ("lock/dump_restore", bad_lock.lock_dump_restore),
    ("lock/unlock_all", bad_lock.lock_unlock_all),
    ("bad/lock_hook_dump", bad_lock.bad_lock_hook_dump),
    ("bad/lock_hook_restore", bad_lock.bad_lock_hook_restore),
    ("bad/lock_skip", bad_lock.bad_lock_skip),
    ("bad/lock_leave_running", bad_lock.bad_lock_leave_running),
    ("bad/restore_netlock_trunc", bad_lock.bad_restore_netlock_trunc),
    ("bad/restore_netlock_corrupt", bad_lock.bad_restore_netlock_corrupt),
    ("bad/restore_netlock_table", bad_lock.bad_restore_netlock_table),
    ("bad/pageserver_killed", bad_pageserver.bad_pageserver_killed),
    ("bad/pageserver_killed_live", bad_pageserver.bad_pageserver_killed_live),
    ("bad/pageserver_corrupt", bad_pageserver.bad_pageserver_corrupt),
    ("bad/pageserver_incr_corrupt", bad_pageserver.bad_pageserver_incr_corrupt),
    ("bad/pageserver_frames", bad_pageserver.bad_pageserver_frames),
    ("bad/pageserver_trunc", bad_pageserver.bad_pageserver_trunc),
    ("bad/pageserver_version", bad_pageserver.bad_pageserver_version),
    ("bad/pageserver_noport", bad_pageserver.bad_pageserver_noport),
    ("bad/pageserver_no_last_ack", bad_pageserver.bad_pageserver_no_last_ack),
    ("pageserver/merge", bad_pageserver.pageserver_merge),
    ("pageserver/netns", bad_pageserver.pageserver_netns),
    ("srv/redis_live", srv_redis.srv_redis_live),
    ("srv/redis_tcp", srv_redis.srv_redis_tcp),
    ("srv/postgres", srv_postgres.srv_postgres),
    ("srv/redis_peer_reset", srv_redis.srv_redis_peer_reset),
    ("srv/redis_conn_destroyed", srv_redis.srv_redis_conn_destroyed),
    ("srv/nginx_live", srv_http.srv_nginx_live),
    ("srv/nginx_restore", srv_http.srv_nginx_restore),
    ("srv/httpserver_live", srv_http.srv_httpserver_live),
    ("srv/httpserver_restore", srv_http.srv_httpserver_restore),
    ("srv/tcpdump_live", srv_tcpdump.srv_tcpdump_live),
    ("srv/tcpdump_restore", srv_tcpdump.srv_tcpdump_restore),
    ("rpc/version", bad_rpc.rpc_version),
    ("rpc/features", bad_rpc.rpc_features),
    ("rpc/dump_restore", bad_rpc.rpc_dump_restore),
    ("rpc/dump_restore_live", bad_rpc.rpc_dump_restore_live),
    ("bad/rpc_dump_nopid", bad_rpc.bad_rpc_dump_nopid),
    ("bad/rpc_restore_empty", bad_rpc.bad_rpc_restore_empty),
    ("bad/rpc_images_fd", bad_rpc.bad_rpc_images_fd),
    ("bad/rpc_malformed", bad_rpc.bad_rpc_malformed),
    ("bad/rpc_unsupported", bad_rpc.bad_rpc_unsupported),
    ("bad/rpc_notify_fails", bad_rpc.bad_rpc_notify_fails),
    ("bad/rpc_restore_hangup", bad_rpc.bad_rpc_restore_hangup),
    ("bad/rpc_bad_fd", bad_rpc.bad_rpc_bad_fd),
    ("bad/rpc_unknown_type", bad_rpc.bad_rpc_unknown_type),
    ("bad/rpc_truncated_opts", bad_rpc.bad_rpc_truncated_opts),
    ("bad/rpc_inherit_fd", bad_rpc.bad_rpc_inherit_fd),
    ("bad/rpc_lsm", bad_rpc.bad_rpc_lsm),
    ("rpc/predump", bad_rpc_incr.rpc_predump),
    ("rpc/predump_full", bad_rpc_incr.rpc_predump_full),
    ("rpc/predump_sequence", bad_rpc_incr.rpc_predump_sequence),
    ("bad/rpc_predump_sequence", bad_rpc_incr.bad_rpc_predump_sequence),
    ("rpc/service", bad_rpc_service.rpc_service),
    ("bad/service_address", bad_rpc_service.bad_service_address),
    ("img/inherit_fd_pipe", bad_inherit.img_inherit_fd_pipe),
    ("img/inherit_fd_rpc", bad_inherit.img_inherit_fd_rpc),
    ("bad/inherit_fd_syntax", bad_inherit.bad_inherit_fd_syntax),
    ("bad/inherit_fd_closed", bad_inherit.bad_inherit_fd_closed),
    ("img/evasive_devices", bad_inherit.img_evasive_devices),
    ("img/orphan_pts_master", bad_inherit.img_orphan_pts_master),
    ("bad/orphan_pts_ctty", bad_inherit.bad_orphan_pts_ctty),
    ("runc/checkpoint_restore", runc.runc_checkpoint_restore),
    ("runc/exec", runc.runc_exec),
    ("runc/leave_running", runc.runc_leave_running),
    ("runc/stdio_pipe", runc.runc_stdio_pipe),
    ("runc/netns_path", runc.runc_netns_path),
    ("runc/pidns_path", runc.runc_pidns_path),
    ("runc/terminal", runc.runc_terminal),
    ("bad/runc_two_consoles", runc.bad_runc_two_consoles),
    ("runc/predump", runc.runc_predump),
    ("runc/lazy_pages", runc.runc_lazy_pages),
    ("runc/host_propagation", runc_mounts.runc_host_propagation),
    ("bad/runc_restore_no_mountpoint", runc.bad_runc_restore_no_mountpoint),
    ("runc/unix_syslog", runc.runc_unix_syslog),
]

