/* Unit tests for policy/podsecurity.c and podspec.c: every baseline and restricted check
 * passing and failing, pod/container precedence, hostUsers and Windows relaxations, init and
 * ephemeral containers, every workload kind and Saqr's synthesised pods. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "../support/policytest.h"

#define DIGEST "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static struct policy *restricted, *baseline;

/* A pod that passes the restricted level. */
static const char compliant_pod[] = "apiVersion: v1\n"
				    "kind: Pod\n"
				    "metadata: {name: p, namespace: default}\n"
				    "spec:\n"
				    "  securityContext:\n"
				    "    runAsNonRoot: true\n"
				    "    seccompProfile: {type: RuntimeDefault}\n"
				    "  containers:\n"
				    "  - name: app\n"
				    "    image: registry.example.com/app@" DIGEST "\n"
				    "    securityContext:\n"
				    "      allowPrivilegeEscalation: false\n"
				    "      capabilities: {drop: [ALL]}\n";

static int setup(void **state)
{
	(void)state;
	restricted = policytest_only("podSecurity", NULL);
	baseline = policytest_only("podSecurity", "    level: baseline\n");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	policy_free(restricted);
	policy_free(baseline);
	return 0;
}

/* Evaluate pod under p; return how many findings it has. The decision is released. */
static size_t findings(const struct policy *p, const json_t *pod, const char *rule, const char *path)
{
	struct policy_decision d;
	size_t n;

	policytest_eval(p, pod, &d);
	n = policytest_count(&d, rule, path);
	policy_decision_release(&d);
	return n;
}

static size_t total(const struct policy *p, const json_t *pod)
{
	struct policy_decision d;
	size_t n;

	policytest_eval(p, pod, &d);
	n = d.nviolations;
	if (n)
		policytest_dump(&d);
	policy_decision_release(&d);
	return n;
}

static json_t *pod(void)
{
	return policytest_yaml(compliant_pod);
}

static void test_compliant_pod_passes(void **state)
{
	json_t *p = pod();

	(void)state;
	assert_int_equal(total(restricted, p), 0);
	assert_int_equal(total(baseline, p), 0);
	json_decref(p);
}

struct kind_case {
	const char *api_version;
	const char *kind;
	const char *template; /* dotted path of the pod spec */
	const char *shown;    /* as reported */
};

static const struct kind_case kinds[] = {
    {"v1", "Pod", NULL, "spec"},
    {"apps/v1", "Deployment", "spec.template.spec", "spec.template.spec"},
    {"apps/v1", "StatefulSet", "spec.template.spec", "spec.template.spec"},
    {"apps/v1", "DaemonSet", "spec.template.spec", "spec.template.spec"},
    {"apps/v1", "ReplicaSet", "spec.template.spec", "spec.template.spec"},
    {"v1", "ReplicationController", "spec.template.spec", "spec.template.spec"},
    {"batch/v1", "Job", "spec.template.spec", "spec.template.spec"},
    {"batch/v1", "CronJob", "spec.jobTemplate.spec.template.spec", "spec.jobTemplate.spec.template.spec"},
};

static json_t *wrap(const struct kind_case *k, const json_t *spec)
{
	json_t *obj = json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", k->api_version, "kind", k->kind,
				"metadata", "name", "x", "namespace", "default");

	policytest_set(obj, k->template ? k->template : "spec", json_deep_copy(spec));
	return obj;
}

static void test_every_workload_kind(void **state)
{
	json_t *p = pod();
	char path[256], key[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		json_t *obj = wrap(&kinds[i], json_object_get(p, "spec"));

		assert_int_equal(total(restricted, obj), 0);
		snprintf(key, sizeof(key), "%s.containers.0.securityContext.privileged",
			 kinds[i].template ? kinds[i].template : "spec");
		policytest_set(obj, key, json_true());
		snprintf(path, sizeof(path), "%s.containers[0].securityContext.privileged", kinds[i].shown);
		assert_int_equal(findings(restricted, obj, "podSecurity.baseline.privileged", path), 1);
		json_decref(obj);
	}
	json_decref(p);
}

static void test_other_groups_and_kinds_are_ignored(void **state)
{
	static const struct kind_case other = {"example.com/v1", "Deployment", "spec.template.spec", ""};
	json_t *p = pod(), *obj;

	(void)state;
	policytest_set(p, "spec.containers.0.securityContext.privileged", json_true());
	obj = wrap(&other, json_object_get(p, "spec"));
	assert_int_equal(total(restricted, obj), 0);
	json_decref(obj);
	policytest_set(p, "kind", json_string("Service"));
	assert_int_equal(total(restricted, p), 0);
	json_decref(p);
}

static void test_privileged(void **state)
{
	json_t *p = pod();
	struct policy_decision d;
	const struct policy_violation *v;

	(void)state;
	policytest_set(p, "spec.containers.0.securityContext.privileged", json_false());
	assert_int_equal(total(baseline, p), 0);
	policytest_set(p, "spec.containers.0.securityContext.privileged", json_true());
	policytest_eval(baseline, p, &d);
	v = policytest_find(&d, "podSecurity.baseline.privileged",
			    "spec.containers[0].securityContext.privileged");
	assert_non_null(v);
	assert_string_equal(v->message,
			    "privileged (container \"app\" must not set securityContext.privileged=true)");
	assert_int_equal(v->enforcement, POLICY_ENFORCE_DENY);
	assert_false(d.allowed);
	policy_decision_release(&d);
	json_decref(p);
}

static void test_host_namespaces(void **state)
{
	static const char *const fields[] = {"hostNetwork", "hostPID", "hostIPC"};
	char key[64], path[64];
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		json_t *p = pod();

		snprintf(key, sizeof(key), "spec.%s", fields[i]);
		snprintf(path, sizeof(path), "spec.%s", fields[i]);
		policytest_set(p, key, json_false());
		assert_int_equal(total(baseline, p), 0);
		policytest_set(p, key, json_true());
		assert_int_equal(findings(baseline, p, "podSecurity.baseline.hostNamespaces", path), 1);
		json_decref(p);
	}
}

static void test_host_path_volumes(void **state)
{
	json_t *p = pod();

	(void)state;
	policytest_set(p, "spec.volumes",
		       policytest_yaml("[{name: data, emptyDir: {}}, {name: host, hostPath: {path: /etc}}]"));
	assert_int_equal(
	    findings(baseline, p, "podSecurity.baseline.hostPathVolumes", "spec.volumes[1].hostPath"), 1);
	assert_int_equal(findings(baseline, p, "podSecurity.restricted.volumeTypes", NULL), 0);
	assert_int_equal(
	    findings(restricted, p, "podSecurity.restricted.volumeTypes", "spec.volumes[1].hostPath"), 1);
	json_decref(p);
}

static void test_host_ports(void **state)
{
	json_t *p = pod();
	struct policy_decision d;

	(void)state;
	policytest_set(p, "spec.containers.0.ports",
		       policytest_yaml("[{containerPort: 80, hostPort: 0}, {containerPort: 443}]"));
	assert_int_equal(total(baseline, p), 0);
	policytest_set(p, "spec.containers.0.ports.1.hostPort", json_integer(8443));
	policytest_eval(baseline, p, &d);
	assert_int_equal(d.nviolations, 1);
	assert_string_equal(d.violations[0].path, "spec.containers[0].ports[1].hostPort");
	assert_string_equal(d.violations[0].message, "hostPort (container \"app\" uses hostPort 8443)");
	policy_decision_release(&d);
	json_decref(p);
}

static void test_capabilities_baseline(void **state)
{
	json_t *p = pod();
	struct policy_decision d;

	(void)state;
	policytest_set(p, "spec.containers.0.securityContext.capabilities.add",
		       policytest_yaml("[CHOWN, NET_BIND_SERVICE, SYS_CHROOT, AUDIT_WRITE]"));
	assert_int_equal(total(baseline, p), 0);
	policytest_set(p, "spec.containers.0.securityContext.capabilities.add",
		       policytest_yaml("[CHOWN, SYS_ADMIN, NET_RAW]"));
	policytest_eval(baseline, p, &d);
	assert_int_equal(d.nviolations, 1);
	assert_string_equal(d.violations[0].rule, "podSecurity.baseline.capabilities");
	assert_string_equal(d.violations[0].path, "spec.containers[0].securityContext.capabilities.add");
	assert_string_equal(d.violations[0].message,
			    "non-default capabilities (container \"app\" must not include "
			    "\"SYS_ADMIN\", \"NET_RAW\" in securityContext.capabilities.add)");
	policy_decision_release(&d);
	json_decref(p);
}

static void test_capabilities_restricted(void **state)
{
	json_t *p = pod();

	(void)state;
	policytest_set(p, "spec.containers.0.securityContext.capabilities.add",
		       policytest_yaml("[NET_BIND_SERVICE]"));
	assert_int_equal(total(restricted, p), 0);
	policytest_set(p, "spec.containers.0.securityContext.capabilities.add", policytest_yaml("[CHOWN]"));
	assert_int_equal(findings(restricted, p, "podSecurity.restricted.capabilities",
				  "spec.containers[0].securityContext.capabilities.add"),
			 1);
	/* the restricted check replaces the baseline one */
	assert_int_equal(findings(restricted, p, "podSecurity.baseline.capabilities", NULL), 0);
	policytest_set(p, "spec.containers.0.securityContext.capabilities.drop",
		       policytest_yaml("[NET_RAW]"));
	assert_int_equal(findings(restricted, p, "podSecurity.restricted.capabilities",
				  "spec.containers[0].securityContext.capabilities.drop"),
			 1);
	policytest_set(p, "spec.containers.0.securityContext.capabilities", NULL);
	assert_int_equal(findings(restricted, p, "podSecurity.restricted.capabilities", NULL), 1);
	json_decref(p);
}

static void test_apparmor(void **state)
{
	json_t *p = pod();
	struct policy_decision d;

	(void)state;
	policytest_set(p, "metadata.annotations",
		       policytest_yaml("{container.apparmor.security.beta.kubernetes.io/app: runtime/default,"
				       " container.apparmor.security.beta.kubernetes.io/b: localhost/profile,"
				       " container.apparmor.security.beta.kubernetes.io/c: ''}"));
	policytest_set(p, "spec.securityContext.appArmorProfile", policytest_yaml("{type: RuntimeDefault}"));
	policytest_set(p, "spec.containers.0.securityContext.appArmorProfile",
		       policytest_yaml("{type: Localhost, localhostProfile: x}"));
	assert_int_equal(total(baseline, p), 0);
	json_object_set_new(json_object_get(json_object_get(p, "metadata"), "annotations"),
			    "container.apparmor.security.beta.kubernetes.io/app", json_string("unconfined"));
	policytest_set(p, "spec.securityContext.appArmorProfile.type", json_string("Unconfined"));
	policytest_set(p, "spec.containers.0.securityContext.appArmorProfile.type",
		       json_string("Unconfined"));
	policytest_eval(baseline, p, &d);
	assert_int_equal(policytest_count(&d, "podSecurity.baseline.appArmorProfile", NULL), 3);
	assert_non_null(
	    policytest_find(&d, "podSecurity.baseline.appArmorProfile",
			    "metadata.annotations[container.apparmor.security.beta.kubernetes.io/app]"));
	assert_non_null(policytest_find(&d, "podSecurity.baseline.appArmorProfile",
					"spec.securityContext.appArmorProfile.type"));
	assert_string_equal(policytest_find(&d, "podSecurity.baseline.appArmorProfile",
					    "spec.containers[0].securityContext.appArmorProfile.type")
				->message,
			    "forbidden AppArmor profile (container \"app\" must not set "
			    "securityContext.appArmorProfile.type to \"Unconfined\")");
	policy_decision_release(&d);
	json_decref(p);
}

static void test_selinux(void **state)
{
	static const char *const allowed[] = {"container_t", "container_init_t", "container_kvm_t",
					      "container_engine_t"};
	json_t *p = pod();
	struct policy_decision d;
	size_t i;

	(void)state;
	for (i = 0; i < 4; i++) {
		policytest_set(p, "spec.containers.0.securityContext.seLinuxOptions.type",
			       json_string(allowed[i]));
		policytest_set(p, "spec.securityContext.seLinuxOptions.level", json_string("s0:c123,c456"));
		assert_int_equal(total(baseline, p), 0);
	}
	policytest_set(p, "spec.containers.0.securityContext.seLinuxOptions.type", json_string("spc_t"));
	policytest_set(p, "spec.securityContext.seLinuxOptions.user", json_string("system_u"));
	policytest_set(p, "spec.securityContext.seLinuxOptions.role", json_string("system_r"));
	policytest_eval(baseline, p, &d);
	assert_int_equal(policytest_count(&d, "podSecurity.baseline.seLinuxOptions", NULL), 3);
	assert_string_equal(policytest_find(&d, "podSecurity.baseline.seLinuxOptions",
					    "spec.containers[0].securityContext.seLinuxOptions.type")
				->message,
			    "seLinuxOptions (container \"app\" set forbidden securityContext.seLinuxOptions: "
			    "type \"spc_t\")");
	assert_non_null(policytest_find(&d, "podSecurity.baseline.seLinuxOptions",
					"spec.securityContext.seLinuxOptions.user"));
	assert_non_null(policytest_find(&d, "podSecurity.baseline.seLinuxOptions",
					"spec.securityContext.seLinuxOptions.role"));
	policy_decision_release(&d);
	json_decref(p);
}

static void test_proc_mount(void **state)
{
	json_t *p = pod();

	(void)state;
	policytest_set(p, "spec.containers.0.securityContext.procMount", json_string("Default"));
	assert_int_equal(total(restricted, p), 0);
	policytest_set(p, "spec.containers.0.securityContext.procMount", json_string("Unmasked"));
	assert_int_equal(findings(baseline, p, "podSecurity.baseline.procMount",
				  "spec.containers[0].securityContext.procMount"),
			 1);
	assert_int_equal(findings(restricted, p, "podSecurity.restricted.procMount", NULL), 1);
	assert_int_equal(findings(restricted, p, "podSecurity.baseline.procMount", NULL), 0);
	/* a user namespace relaxes baseline only */
	policytest_set(p, "spec.hostUsers", json_false());
	assert_int_equal(total(baseline, p), 0);
	assert_int_equal(findings(restricted, p, "podSecurity.restricted.procMount", NULL), 1);
	json_decref(p);
}

static void test_seccomp_baseline(void **state)
{
	json_t *p = pod();
	struct policy_decision d;

	(void)state;
	policytest_set(p, "spec.securityContext.seccompProfile", NULL);
	assert_int_equal(total(baseline, p), 0); /* unset is fine at baseline */
	policytest_set(p, "spec.securityContext.seccompProfile.type", json_string("Unconfined"));
	policytest_set(p, "spec.containers.0.securityContext.seccompProfile.type", json_string("Unconfined"));
	policytest_eval(baseline, p, &d);
	assert_int_equal(policytest_count(&d, "podSecurity.baseline.seccompProfile", NULL), 2);
	assert_string_equal(
	    policytest_find(&d, "podSecurity.baseline.seccompProfile",
			    "spec.securityContext.seccompProfile.type")
		->message,
	    "seccompProfile (pod must not set securityContext.seccompProfile.type to \"Unconfined\")");
	policy_decision_release(&d);
	json_decref(p);
}

static void test_seccomp_restricted_precedence(void **state)
{
	json_t *p = pod();
	struct policy_decision d;

	(void)state;
	/* the pod's RuntimeDefault covers the container; a container may also set its own */
	policytest_set(p, "spec.containers.0.securityContext.seccompProfile",
		       policytest_yaml("{type: Localhost, localhostProfile: p.json}"));
	assert_int_equal(total(restricted, p), 0);
	/* an explicit bad container value fails even under a good pod value */
	policytest_set(p, "spec.containers.0.securityContext.seccompProfile.type", json_string("Unconfined"));
	assert_int_equal(findings(restricted, p, "podSecurity.restricted.seccompProfile",
				  "spec.containers[0].securityContext.seccompProfile.type"),
			 1);
	/* nothing set anywhere: the container is named */
	policytest_set(p, "spec.containers.0.securityContext.seccompProfile", NULL);
	policytest_set(p, "spec.securityContext.seccompProfile", NULL);
	policytest_eval(restricted, p, &d);
	assert_int_equal(policytest_count(&d, "podSecurity.restricted.seccompProfile", NULL), 1);
	assert_string_equal(
	    d.violations[0].message,
	    "seccompProfile (pod or container \"app\" must set securityContext.seccompProfile.type to "
	    "\"RuntimeDefault\" or \"Localhost\")");
	policy_decision_release(&d);
	/* a bad pod value is reported once, on the pod */
	policytest_set(p, "spec.securityContext.seccompProfile.type", json_string("Unconfined"));
	policytest_eval(restricted, p, &d);
	assert_int_equal(policytest_count(&d, "podSecurity.restricted.seccompProfile", NULL), 1);
	assert_non_null(policytest_find(&d, "podSecurity.restricted.seccompProfile",
					"spec.securityContext.seccompProfile.type"));
	policy_decision_release(&d);
	json_decref(p);
}

static void test_sysctls(void **state)
{
	json_t *p = pod();
	struct policy_decision d;

	(void)state;
	policytest_set(p, "spec.securityContext.sysctls",
		       policytest_yaml("[{name: net.ipv4.ip_local_port_range, value: '1024 65535'},"
				       " {name: kernel.shm_rmid_forced, value: '1'},"
				       " {name: net.ipv4.tcp_keepalive_time, value: '600'}]"));
	assert_int_equal(total(baseline, p), 0);
	policytest_set(p, "spec.securityContext.sysctls.1",
		       policytest_yaml("{name: net.core.somaxconn, value: '1024'}"));
	policytest_eval(baseline, p, &d);
	assert_int_equal(d.nviolations, 1);
	assert_string_equal(d.violations[0].path, "spec.securityContext.sysctls[1].name");
	assert_string_equal(d.violations[0].message, "forbidden sysctls (net.core.somaxconn)");
	policy_decision_release(&d);
	json_decref(p);
}

static void test_windows_host_process(void **state)
{
	json_t *p = pod();

	(void)state;
	policytest_set(p, "spec.securityContext.windowsOptions.hostProcess", json_false());
	assert_int_equal(total(baseline, p), 0);
	policytest_set(p, "spec.securityContext.windowsOptions.hostProcess", json_true());
	policytest_set(p, "spec.containers.0.securityContext.windowsOptions.hostProcess", json_true());
	assert_int_equal(findings(baseline, p, "podSecurity.baseline.windowsHostProcess",
				  "spec.securityContext.windowsOptions.hostProcess"),
			 1);
	assert_int_equal(findings(baseline, p, "podSecurity.baseline.windowsHostProcess",
				  "spec.containers[0].securityContext.windowsOptions.hostProcess"),
			 1);
	json_decref(p);
}

static void test_probe_and_lifecycle_hosts(void **state)
{
	json_t *p = pod();
	struct policy_decision d;

	(void)state;
	policytest_set(p, "spec.containers.0.livenessProbe",
		       policytest_yaml("{httpGet: {path: /healthz, port: 8080}}"));
	policytest_set(p, "spec.containers.0.readinessProbe",
		       policytest_yaml("{tcpSocket: {port: 8080, host: ''}}"));
	assert_int_equal(total(baseline, p), 0);
	policytest_set(p, "spec.containers.0.livenessProbe.httpGet.host", json_string("127.0.0.1"));
	policytest_set(p, "spec.containers.0.readinessProbe.tcpSocket.host", json_string("db.internal"));
	policytest_set(p, "spec.containers.0.startupProbe",
		       policytest_yaml("{httpGet: {host: '::1', port: 1}}"));
	policytest_set(p, "spec.containers.0.lifecycle",
		       policytest_yaml("{postStart: {httpGet: {host: evil.example, port: 80}},"
				       " preStop: {tcpSocket: {host: 10.0.0.1, port: 22}}}"));
	policytest_eval(baseline, p, &d);
	assert_int_equal(policytest_count(&d, "podSecurity.baseline.hostProbesAndHostLifecycle", NULL), 5);
	assert_string_equal(
	    policytest_find(&d, "podSecurity.baseline.hostProbesAndHostLifecycle",
			    "spec.containers[0].livenessProbe.httpGet.host")
		->message,
	    "probe or lifecycle host (container \"app\" uses probe or lifecycle host \"127.0.0.1\")");
	assert_non_null(policytest_find(&d, "podSecurity.baseline.hostProbesAndHostLifecycle",
					"spec.containers[0].lifecycle.preStop.tcpSocket.host"));
	policy_decision_release(&d);
	json_decref(p);
}

static void test_volume_types_restricted(void **state)
{
	json_t *p = pod();
	struct policy_decision d;

	(void)state;
	policytest_set(
	    p, "spec.volumes",
	    policytest_yaml(
		"[{name: a, configMap: {name: c}}, {name: b, csi: {driver: d}}, {name: c, downwardAPI: {}},"
		" {name: d, emptyDir: {}}, {name: e, ephemeral: {}}, {name: f, image: {reference: x}},"
		" {name: g, persistentVolumeClaim: {claimName: c}}, {name: h, projected: {sources: []}},"
		" {name: i, secret: {secretName: s}}]"));
	assert_int_equal(total(restricted, p), 0);
	policytest_set(p, "spec.volumes.3", policytest_yaml("{name: nfs, nfs: {server: s, path: /}}"));
	policytest_eval(restricted, p, &d);
	assert_int_equal(d.nviolations, 1);
	assert_string_equal(d.violations[0].path, "spec.volumes[3].nfs");
	assert_string_equal(d.violations[0].message,
			    "restricted volume types (volume \"nfs\" uses restricted volume type \"nfs\")");
	policy_decision_release(&d);
	assert_int_equal(total(baseline, p), 0);
	json_decref(p);
}

static void test_allow_privilege_escalation(void **state)
{
	json_t *p = pod();
	struct policy_decision d;

	(void)state;
	policytest_set(p, "spec.containers.0.securityContext.allowPrivilegeEscalation", NULL);
	policytest_eval(restricted, p, &d);
	assert_int_equal(d.nviolations, 1);
	assert_string_equal(d.violations[0].rule, "podSecurity.restricted.allowPrivilegeEscalation");
	assert_string_equal(d.violations[0].path,
			    "spec.containers[0].securityContext.allowPrivilegeEscalation");
	assert_string_equal(d.violations[0].message,
			    "allowPrivilegeEscalation != false (container \"app\" must set "
			    "securityContext.allowPrivilegeEscalation=false)");
	policy_decision_release(&d);
	policytest_set(p, "spec.containers.0.securityContext.allowPrivilegeEscalation", json_true());
	assert_int_equal(findings(restricted, p, "podSecurity.restricted.allowPrivilegeEscalation", NULL), 1);
	assert_int_equal(total(baseline, p), 0);
	json_decref(p);
}

static void test_run_as_non_root_precedence(void **state)
{
	json_t *p = pod();
	struct policy_decision d;

	(void)state;
	/* pod true covers the container; container true alone is enough */
	policytest_set(p, "spec.securityContext.runAsNonRoot", NULL);
	policytest_set(p, "spec.containers.0.securityContext.runAsNonRoot", json_true());
	assert_int_equal(total(restricted, p), 0);
	/* neither set */
	policytest_set(p, "spec.containers.0.securityContext.runAsNonRoot", NULL);
	policytest_eval(restricted, p, &d);
	assert_int_equal(d.nviolations, 1);
	assert_string_equal(
	    d.violations[0].message,
	    "runAsNonRoot != true (pod or container \"app\" must set securityContext.runAsNonRoot=true)");
	policy_decision_release(&d);
	/* an explicit false on the container beats the pod's true */
	policytest_set(p, "spec.securityContext.runAsNonRoot", json_true());
	policytest_set(p, "spec.containers.0.securityContext.runAsNonRoot", json_false());
	policytest_eval(restricted, p, &d);
	assert_int_equal(d.nviolations, 1);
	assert_string_equal(
	    d.violations[0].message,
	    "runAsNonRoot != true (container \"app\" must not set securityContext.runAsNonRoot=false)");
	policy_decision_release(&d);
	/* an explicit false on the pod fails even when the container says true; it is reported once */
	policytest_set(p, "spec.securityContext.runAsNonRoot", json_false());
	policytest_set(p, "spec.containers.0.securityContext.runAsNonRoot", NULL);
	policytest_eval(restricted, p, &d);
	assert_int_equal(d.nviolations, 1);
	assert_string_equal(d.violations[0].path, "spec.securityContext.runAsNonRoot");
	policy_decision_release(&d);
	json_decref(p);
}

static void test_run_as_user(void **state)
{
	json_t *p = pod();

	(void)state;
	policytest_set(p, "spec.securityContext.runAsUser", json_integer(1000));
	policytest_set(p, "spec.containers.0.securityContext.runAsUser", json_integer(1001));
	assert_int_equal(total(restricted, p), 0);
	policytest_set(p, "spec.securityContext.runAsUser", json_integer(0));
	policytest_set(p, "spec.containers.0.securityContext.runAsUser", json_integer(0));
	assert_int_equal(
	    findings(restricted, p, "podSecurity.restricted.runAsUser", "spec.securityContext.runAsUser"), 1);
	assert_int_equal(findings(restricted, p, "podSecurity.restricted.runAsUser",
				  "spec.containers[0].securityContext.runAsUser"),
			 1);
	assert_int_equal(total(baseline, p), 0);
	json_decref(p);
}

static void test_host_users_false_relaxes_user_checks(void **state)
{
	json_t *p = pod();

	(void)state;
	policytest_set(p, "spec.securityContext.runAsNonRoot", json_false());
	policytest_set(p, "spec.containers.0.securityContext.runAsUser", json_integer(0));
	assert_int_equal(findings(restricted, p, "podSecurity.restricted.runAsNonRoot", NULL), 1);
	assert_int_equal(findings(restricted, p, "podSecurity.restricted.runAsUser", NULL), 1);
	policytest_set(p, "spec.hostUsers", json_false());
	assert_int_equal(total(restricted, p), 0);
	policytest_set(p, "spec.hostUsers", json_true());
	assert_int_equal(findings(restricted, p, "podSecurity.restricted.runAsUser", NULL), 1);
	json_decref(p);
}

static void test_windows_pods_exemptions(void **state)
{
	json_t *p = pod();

	(void)state;
	policytest_set(p, "spec.os.name", json_string("windows"));
	policytest_set(p, "spec.containers.0.securityContext.allowPrivilegeEscalation", NULL);
	policytest_set(p, "spec.containers.0.securityContext.capabilities", NULL);
	policytest_set(p, "spec.securityContext.seccompProfile", NULL);
	assert_int_equal(total(restricted, p), 0);
	/* what Windows pods are not exempt from */
	policytest_set(p, "spec.securityContext.runAsNonRoot", NULL);
	assert_int_equal(findings(restricted, p, "podSecurity.restricted.runAsNonRoot", NULL), 1);
	policytest_set(p, "spec.os.name", json_string("linux"));
	assert_int_equal(findings(restricted, p, "podSecurity.restricted.allowPrivilegeEscalation", NULL), 1);
	assert_int_equal(findings(restricted, p, "podSecurity.restricted.capabilities", NULL), 1);
	assert_int_equal(findings(restricted, p, "podSecurity.restricted.seccompProfile", NULL), 1);
	json_decref(p);
}

static void test_init_and_ephemeral_containers(void **state)
{
	json_t *p = pod();
	struct policy_decision d;

	(void)state;
	policytest_set(p, "spec.initContainers",
		       policytest_yaml("[{name: init, image: x, securityContext: {privileged: true}}]"));
	policytest_set(p, "spec.ephemeralContainers", policytest_yaml("[{name: debug, image: busybox}]"));
	policytest_eval(restricted, p, &d);
	assert_int_equal(policytest_count(&d, "podSecurity.baseline.privileged",
					  "spec.initContainers[0].securityContext.privileged"),
			 1);
	assert_int_equal(
	    policytest_count(&d, "podSecurity.restricted.allowPrivilegeEscalation",
			     "spec.ephemeralContainers[0].securityContext.allowPrivilegeEscalation"),
	    1);
	assert_int_equal(policytest_count(&d, "podSecurity.restricted.capabilities",
					  "spec.ephemeralContainers[0].securityContext.capabilities.drop"),
			 1);
	assert_string_equal(
	    policytest_find(&d, "podSecurity.restricted.allowPrivilegeEscalation",
			    "spec.ephemeralContainers[0].securityContext.allowPrivilegeEscalation")
		->message,
	    "allowPrivilegeEscalation != false (container \"debug\" must set "
	    "securityContext.allowPrivilegeEscalation=false)");
	policy_decision_release(&d);
	json_decref(p);
}

static void test_saqr_kinds_are_hardened(void **state)
{
	json_t *md = policytest_yaml("apiVersion: saqr.dev/v1alpha1\nkind: ModelDeployment\n"
				     "metadata: {name: m, namespace: ml}\n"
				     "spec: {model: {uri: 's3://b/m'}, server: {image: 'ghcr.io/a/s:1'}}\n");
	json_t *tj = policytest_yaml("apiVersion: saqr.dev/v1alpha1\nkind: TrainingJob\n"
				     "metadata: {name: t, namespace: ml}\nspec: {image: 'ghcr.io/a/t:1'}\n");

	(void)state;
	assert_int_equal(total(restricted, md), 0);
	assert_int_equal(total(restricted, tj), 0);
	json_decref(md);
	json_decref(tj);
}

static void test_enforcement_warn_keeps_allowed(void **state)
{
	struct policy *warn = policytest_only("podSecurity", "    enforcement: warn\n");
	json_t *p = pod();
	struct policy_decision d;

	(void)state;
	policytest_set(p, "spec.hostPID", json_true());
	policytest_eval(warn, p, &d);
	assert_true(d.allowed);
	assert_int_equal(d.nviolations, 1);
	assert_int_equal(d.violations[0].enforcement, POLICY_ENFORCE_WARN);
	policy_decision_release(&d);
	policy_free(warn);
	json_decref(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_compliant_pod_passes),
	    cmocka_unit_test(test_every_workload_kind),
	    cmocka_unit_test(test_other_groups_and_kinds_are_ignored),
	    cmocka_unit_test(test_privileged),
	    cmocka_unit_test(test_host_namespaces),
	    cmocka_unit_test(test_host_path_volumes),
	    cmocka_unit_test(test_host_ports),
	    cmocka_unit_test(test_capabilities_baseline),
	    cmocka_unit_test(test_capabilities_restricted),
	    cmocka_unit_test(test_apparmor),
	    cmocka_unit_test(test_selinux),
	    cmocka_unit_test(test_proc_mount),
	    cmocka_unit_test(test_seccomp_baseline),
	    cmocka_unit_test(test_seccomp_restricted_precedence),
	    cmocka_unit_test(test_sysctls),
	    cmocka_unit_test(test_windows_host_process),
	    cmocka_unit_test(test_probe_and_lifecycle_hosts),
	    cmocka_unit_test(test_volume_types_restricted),
	    cmocka_unit_test(test_allow_privilege_escalation),
	    cmocka_unit_test(test_run_as_non_root_precedence),
	    cmocka_unit_test(test_run_as_user),
	    cmocka_unit_test(test_host_users_false_relaxes_user_checks),
	    cmocka_unit_test(test_windows_pods_exemptions),
	    cmocka_unit_test(test_init_and_ephemeral_containers),
	    cmocka_unit_test(test_saqr_kinds_are_hardened),
	    cmocka_unit_test(test_enforcement_warn_keeps_allowed),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
