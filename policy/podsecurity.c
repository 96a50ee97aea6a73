/* Pod Security Standards. Rule ids are podSecurity.<level>.<upstream check id>; messages
 * follow upstream's "reason (detail)" wording. At the restricted level the restricted
 * capabilities, seccompProfile and procMount checks replace their baseline versions, as
 * upstream's OverrideCheckIDs do. */
#include "policy/podsecurity.h"

#include <stdio.h>
#include <string.h>

#include "policy/finding.h"

#define PSS_B "podSecurity.baseline."
#define PSS_R "podSecurity.restricted."
#define PSS_PATH_MAX 256

static const char *const pss_baseline_caps[] = {
    "AUDIT_WRITE",	"CHOWN",   "DAC_OVERRIDE", "FOWNER",  "FSETID", "KILL",	      "MKNOD",
    "NET_BIND_SERVICE", "SETFCAP", "SETGID",	   "SETPCAP", "SETUID", "SYS_CHROOT",
};

static const char *const pss_safe_sysctls[] = {
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
    "net.ipv4.tcp_rmem",
    "net.ipv4.tcp_wmem",
    "net.ipv4.tcp_slow_start_after_idle",
    "net.ipv4.tcp_notsent_lowat",
};

static const char *const pss_selinux_types[] = {
    "", "container_t", "container_init_t", "container_kvm_t", "container_engine_t",
};

static const char *const pss_restricted_volumes[] = {
    "configMap", "csi",	   "downwardAPI", "emptyDir", "ephemeral", "image", "persistentVolumeClaim",
    "projected", "secret",
};

#define PSS_IN(list, s) pss_in((list), sizeof(list) / sizeof((list)[0]), (s))

static bool pss_in(const char *const *list, size_t n, const char *s)
{
	size_t i;

	for (i = 0; s && i < n; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

static bool pss_restricted(const struct policy_eval_ctx *ev)
{
	return ev->p->pod_security.level == POLICY_PSS_RESTRICTED;
}

/* hostUsers: false (a user namespace) relaxes runAsNonRoot, runAsUser and baseline procMount. */
static bool pss_userns(const struct policy_eval_ctx *ev)
{
	return ev->pod.host_users == PODSPEC_FALSE;
}

static void pss_report(struct policy_eval_ctx *ev, const char *rule, const struct podspec_container *c,
		       const char *field, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void pss_report(struct policy_eval_ctx *ev, const char *rule, const struct podspec_container *c,
		       const char *field, const char *fmt, ...)
{
	char path[PSS_PATH_MAX];
	va_list ap;

	podspec_path(&ev->pod, c, field, path, sizeof(path));
	va_start(ap, fmt);
	policy__vviolation(ev, ev->p->pod_security.g.enforcement, rule, path, fmt, ap);
	va_end(ap);
}

/* "pod" or `container "name"`, as upstream names who set a field. */
static void pss_who(const struct podspec_container *c, char *out, size_t n)
{
	if (c)
		snprintf(out, n, "container \"%s\"", c->name);
	else
		snprintf(out, n, "pod");
}

/* ---- checks shared by the pod and container securityContexts ---- */

static void pss_selinux(struct policy_eval_ctx *ev, const struct podspec_sc *sc,
			const struct podspec_container *c)
{
	static const char *const fields[] = {"type", "user", "role"};
	char who[128], field[64];
	size_t i;

	if (!sc->selinux)
		return;
	for (i = 0; i < 3; i++) {
		const char *v = json_string_value(json_object_get(sc->selinux, fields[i]));

		if (!v || (i == 0 ? PSS_IN(pss_selinux_types, v) : v[0] == '\0'))
			continue;
		pss_who(c, who, sizeof(who));
		snprintf(field, sizeof(field), "securityContext.seLinuxOptions.%s", fields[i]);
		pss_report(ev, PSS_B "seLinuxOptions", c, field,
			   "seLinuxOptions (%s set forbidden securityContext.seLinuxOptions: %s \"%s\")", who,
			   fields[i], v);
	}
}

static void pss_apparmor_type(struct policy_eval_ctx *ev, const struct podspec_sc *sc,
			      const struct podspec_container *c)
{
	char who[128];

	if (!sc->apparmor_type || strcmp(sc->apparmor_type, "RuntimeDefault") == 0 ||
	    strcmp(sc->apparmor_type, "Localhost") == 0)
		return;
	pss_who(c, who, sizeof(who));
	pss_report(
	    ev, PSS_B "appArmorProfile", c, "securityContext.appArmorProfile.type",
	    "forbidden AppArmor profile (%s must not set securityContext.appArmorProfile.type to \"%s\")",
	    who, sc->apparmor_type);
}

static void pss_host_process(struct policy_eval_ctx *ev, const struct podspec_sc *sc,
			     const struct podspec_container *c)
{
	char who[128];

	if (sc->host_process != PODSPEC_TRUE)
		return;
	pss_who(c, who, sizeof(who));
	pss_report(ev, PSS_B "windowsHostProcess", c, "securityContext.windowsOptions.hostProcess",
		   "hostProcess (%s must not set securityContext.windowsOptions.hostProcess=true)", who);
}

static bool pss_seccomp_ok(const char *type)
{
	return type && (strcmp(type, "RuntimeDefault") == 0 || strcmp(type, "Localhost") == 0);
}

/* Baseline forbids Unconfined; restricted (Linux pods) requires RuntimeDefault or Localhost,
 * which a container may inherit from the pod. */
static void pss_seccomp(struct policy_eval_ctx *ev, const struct podspec_sc *sc,
			const struct podspec_container *c)
{
	const char *rule = pss_restricted(ev) ? PSS_R "seccompProfile" : PSS_B "seccompProfile";
	char who[128];

	if (pss_restricted(ev) && ev->pod.windows)
		return;
	if (sc->seccomp_type) {
		if (pss_restricted(ev) ? pss_seccomp_ok(sc->seccomp_type)
				       : strcmp(sc->seccomp_type, "Unconfined") != 0)
			return;
		pss_who(c, who, sizeof(who));
		pss_report(ev, rule, c, "securityContext.seccompProfile.type",
			   "seccompProfile (%s must not set securityContext.seccompProfile.type to \"%s\")",
			   who, sc->seccomp_type);
		return;
	}
	/* Unset: only a container of a restricted pod whose pod level sets nothing is at fault
	 * (a bad pod-level value is reported once, on the pod). */
	if (!c || !pss_restricted(ev) || ev->pod.sc.seccomp_type)
		return;
	pss_who(c, who, sizeof(who));
	pss_report(
	    ev, rule, c, "securityContext.seccompProfile.type",
	    "seccompProfile (pod or %s must set securityContext.seccompProfile.type to \"RuntimeDefault\" or "
	    "\"Localhost\")",
	    who);
}

static void pss_run_as(struct policy_eval_ctx *ev, const struct podspec_sc *sc,
		       const struct podspec_container *c)
{
	char who[128];

	bool bad_non_root, implicit_non_root, bad_user;

	if (!pss_restricted(ev) || pss_userns(ev))
		return;
	bad_non_root = sc->run_as_non_root == PODSPEC_FALSE;
	implicit_non_root =
	    c && sc->run_as_non_root == PODSPEC_UNSET && ev->pod.sc.run_as_non_root == PODSPEC_UNSET;
	bad_user = sc->run_as_user_set && sc->run_as_user == 0;
	if (!bad_non_root && !implicit_non_root && !bad_user)
		return;
	pss_who(c, who, sizeof(who));
	if (bad_non_root)
		pss_report(ev, PSS_R "runAsNonRoot", c, "securityContext.runAsNonRoot",
			   "runAsNonRoot != true (%s must not set securityContext.runAsNonRoot=false)", who);
	else if (implicit_non_root)
		pss_report(ev, PSS_R "runAsNonRoot", c, "securityContext.runAsNonRoot",
			   "runAsNonRoot != true (pod or %s must set securityContext.runAsNonRoot=true)",
			   who);
	if (bad_user)
		pss_report(ev, PSS_R "runAsUser", c, "securityContext.runAsUser",
			   "runAsUser=0 (%s must not set runAsUser=0)", who);
}

static void pss_common(struct policy_eval_ctx *ev, const struct podspec_sc *sc,
		       const struct podspec_container *c)
{
	pss_selinux(ev, sc, c);
	pss_apparmor_type(ev, sc, c);
	pss_host_process(ev, sc, c);
	pss_seccomp(ev, sc, c);
	pss_run_as(ev, sc, c);
}

/* ---- pod level ---- */

static void pss_host_namespaces(struct policy_eval_ctx *ev)
{
	static const char *const names[] = {"hostNetwork", "hostPID", "hostIPC"};
	const enum podspec_tri v[] = {ev->pod.host_network, ev->pod.host_pid, ev->pod.host_ipc};
	size_t i;

	for (i = 0; i < 3; i++)
		if (v[i] == PODSPEC_TRUE)
			pss_report(ev, PSS_B "hostNamespaces", NULL, names[i], "host namespaces (%s=true)",
				   names[i]);
}

static void pss_volume(struct policy_eval_ctx *ev, const json_t *vol, size_t i)
{
	const char *name = json_string_value(json_object_get(vol, "name"));
	char field[128];
	bool host_path, restricted;
	void *it;

	if (!name)
		name = "";
	for (it = json_object_iter((json_t *)vol); it; it = json_object_iter_next((json_t *)vol, it)) {
		const char *key = json_object_iter_key(it);

		if (strcmp(key, "name") == 0)
			continue;
		host_path = strcmp(key, "hostPath") == 0;
		restricted = pss_restricted(ev) && !PSS_IN(pss_restricted_volumes, key);
		if (!host_path && !restricted)
			continue;
		snprintf(field, sizeof(field), "volumes[%zu].%s", i, key);
		if (host_path)
			pss_report(ev, PSS_B "hostPathVolumes", NULL, field,
				   "hostPath volumes (volume \"%s\")", name);
		if (restricted)
			pss_report(
			    ev, PSS_R "volumeTypes", NULL, field,
			    "restricted volume types (volume \"%s\" uses restricted volume type \"%s\")",
			    name, key);
	}
}

static void pss_sysctls(struct policy_eval_ctx *ev)
{
	char field[96];
	size_t i;

	for (i = 0; i < json_array_size(ev->pod.sc.sysctls); i++) {
		const char *name =
		    json_string_value(json_object_get(json_array_get(ev->pod.sc.sysctls, i), "name"));

		if (!name || PSS_IN(pss_safe_sysctls, name))
			continue;
		snprintf(field, sizeof(field), "securityContext.sysctls[%zu].name", i);
		pss_report(ev, PSS_B "sysctls", NULL, field, "forbidden sysctls (%s)", name);
	}
}

/* The pre-1.30 AppArmor annotations: "", runtime/default and localhost/<profile> only. */
static void pss_apparmor_annotations(struct policy_eval_ctx *ev)
{
	static const char prefix[] = "container.apparmor.security.beta.kubernetes.io/";
	const json_t *ann = json_object_get(ev->pod.meta, "annotations");
	char path[PSS_PATH_MAX];
	void *it;

	for (it = json_object_iter((json_t *)ann); it; it = json_object_iter_next((json_t *)ann, it)) {
		const char *key = json_object_iter_key(it);
		const char *val = json_string_value(json_object_iter_value(it));

		if (strncmp(key, prefix, sizeof(prefix) - 1) != 0 || !val || val[0] == '\0' ||
		    strcmp(val, "runtime/default") == 0 || strncmp(val, "localhost/", 10) == 0)
			continue;
		podspec_annotation_path(&ev->pod, key, path, sizeof(path));
		policy__violation(ev, ev->p->pod_security.g.enforcement, PSS_B "appArmorProfile", path,
				  "forbidden AppArmor profile (%s=\"%s\")", key, val);
	}
}

void podsecurity_pod(struct policy_eval_ctx *ev)
{
	size_t i;

	pss_host_namespaces(ev);
	for (i = 0; i < json_array_size(ev->pod.volumes); i++)
		pss_volume(ev, json_array_get(ev->pod.volumes, i), i);
	pss_sysctls(ev);
	pss_apparmor_annotations(ev);
	pss_common(ev, &ev->pod.sc, NULL);
}

/* ---- container level ---- */

static void pss_join_caps(const json_t *add, bool restricted, char *out, size_t n)
{
	size_t i, len = 0;

	out[0] = '\0';
	for (i = 0; i < json_array_size(add) && len < n; i++) {
		const char *cap = json_string_value(json_array_get(add, i));

		if (!cap ||
		    (restricted ? strcmp(cap, "NET_BIND_SERVICE") == 0 : PSS_IN(pss_baseline_caps, cap)))
			continue;
		len += (size_t)snprintf(out + len, n - len, "%s\"%s\"", len ? ", " : "", cap);
	}
}

static bool pss_drops_all(const json_t *drop)
{
	size_t i;

	for (i = 0; i < json_array_size(drop); i++)
		if (json_string_value(json_array_get(drop, i)) &&
		    strcmp(json_string_value(json_array_get(drop, i)), "ALL") == 0)
			return true;
	return false;
}

static void pss_capabilities(struct policy_eval_ctx *ev, const struct podspec_container *c)
{
	bool restricted = pss_restricted(ev);
	char bad[512];

	if (restricted && ev->pod.windows)
		return;
	if (restricted && !pss_drops_all(c->sc.cap_drop))
		pss_report(ev, PSS_R "capabilities", c, "securityContext.capabilities.drop",
			   "unrestricted capabilities (container \"%s\" must set "
			   "securityContext.capabilities.drop=[\"ALL\"])",
			   c->name);
	pss_join_caps(c->sc.cap_add, restricted, bad, sizeof(bad));
	if (bad[0] == '\0')
		return;
	pss_report(ev, restricted ? PSS_R "capabilities" : PSS_B "capabilities", c,
		   "securityContext.capabilities.add",
		   "%s (container \"%s\" must not include %s in securityContext.capabilities.add)",
		   restricted ? "unrestricted capabilities" : "non-default capabilities", c->name, bad);
}

static void pss_host_ports(struct policy_eval_ctx *ev, const struct podspec_container *c)
{
	char field[64];
	size_t i;

	for (i = 0; i < json_array_size(c->ports); i++) {
		json_int_t port =
		    json_integer_value(json_object_get(json_array_get(c->ports, i), "hostPort"));

		if (port == 0)
			continue;
		snprintf(field, sizeof(field), "ports[%zu].hostPort", i);
		pss_report(ev, PSS_B "hostPorts", c, field, "hostPort (container \"%s\" uses hostPort %lld)",
			   c->name, (long long)port);
	}
}

static void pss_handler_host(struct policy_eval_ctx *ev, const struct podspec_container *c,
			     const json_t *handler, const char *where)
{
	static const char *const actions[] = {"httpGet", "tcpSocket"};
	char field[96];
	size_t i;

	for (i = 0; i < 2; i++) {
		const char *host =
		    json_string_value(json_object_get(json_object_get(handler, actions[i]), "host"));

		if (!host || host[0] == '\0')
			continue;
		snprintf(field, sizeof(field), "%s.%s.host", where, actions[i]);
		pss_report(ev, PSS_B "hostProbesAndHostLifecycle", c, field,
			   "probe or lifecycle host (container \"%s\" uses probe or lifecycle host \"%s\")",
			   c->name, host);
	}
}

static void pss_probe_hosts(struct policy_eval_ctx *ev, const struct podspec_container *c)
{
	static const char *const probes[] = {"livenessProbe", "readinessProbe", "startupProbe"};
	size_t i;

	for (i = 0; i < 3; i++)
		if (c->probes[i])
			pss_handler_host(ev, c, c->probes[i], probes[i]);
	if (c->lifecycle) {
		pss_handler_host(ev, c, json_object_get(c->lifecycle, "postStart"), "lifecycle.postStart");
		pss_handler_host(ev, c, json_object_get(c->lifecycle, "preStop"), "lifecycle.preStop");
	}
}

static void pss_proc_mount(struct policy_eval_ctx *ev, const struct podspec_container *c)
{
	bool restricted = pss_restricted(ev);

	if (!c->sc.proc_mount || strcmp(c->sc.proc_mount, "Default") == 0 || (!restricted && pss_userns(ev)))
		return;
	pss_report(ev, restricted ? PSS_R "procMount" : PSS_B "procMount", c, "securityContext.procMount",
		   "procMount (container \"%s\" must not set securityContext.procMount to \"%s\")", c->name,
		   c->sc.proc_mount);
}

void podsecurity_container(struct policy_eval_ctx *ev, const struct podspec_container *c)
{
	if (c->sc.privileged == PODSPEC_TRUE)
		pss_report(ev, PSS_B "privileged", c, "securityContext.privileged",
			   "privileged (container \"%s\" must not set securityContext.privileged=true)",
			   c->name);
	pss_capabilities(ev, c);
	pss_host_ports(ev, c);
	pss_probe_hosts(ev, c);
	pss_proc_mount(ev, c);
	pss_common(ev, &c->sc, c);
	if (pss_restricted(ev) && !ev->pod.windows && c->sc.allow_privilege_escalation != PODSPEC_FALSE)
		pss_report(ev, PSS_R "allowPrivilegeEscalation", c,
			   "securityContext.allowPrivilegeEscalation",
			   "allowPrivilegeEscalation != false (container \"%s\" must set "
			   "securityContext.allowPrivilegeEscalation=false)",
			   c->name);
}
