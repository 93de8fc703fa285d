"""Checks deploy/cloudformation.yaml: the task role has no wildcard action and nothing that
deletes; the alarm topic is not encrypted with the AWS-managed SNS key (whose policy lets no alarm
or event publish); a rule sends task exits other than 0 to the alarm topic.

Run with the Python that has cfn-lint (it brings PyYAML):
    python deploy/check_policy.py deploy/cloudformation.yaml
    python deploy/check_policy.py --self-test deploy/cloudformation.yaml   # the checks can fail
"""
import copy
import sys

import yaml


class Loader(yaml.SafeLoader):
    """Reads CloudFormation's short tags (!Ref, !Sub, …) as plain values."""


def _any_tag(loader, _suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


Loader.add_multi_constructor("!", _any_tag)


def actions(statement):
    a = statement.get("Action", [])
    return [a] if isinstance(a, str) else a


def alarm_problems(template):
    resources = template["Resources"]
    problems = []
    topics = [n for n, r in resources.items() if r.get("Type") == "AWS::SNS::Topic"]
    for name in topics:
        key = resources[name].get("Properties", {}).get("KmsMasterKeyId", "")
        if isinstance(key, str) and key.startswith("alias/aws/"):
            problems.append(f"{name} is encrypted with the AWS-managed key {key}: CloudWatch alarms cannot publish to it")
    watches_exits = False
    for r in resources.values():
        if r.get("Type") != "AWS::Events::Rule":
            continue
        pattern = r.get("Properties", {}).get("EventPattern", {})
        targets = r.get("Properties", {}).get("Targets", [])
        exit_codes = pattern.get("detail", {}).get("containers", {}).get("exitCode")
        to_topic = any(t.get("Arn") in topics for t in targets)
        if "ECS Task State Change" in pattern.get("detail-type", []) and exit_codes and to_topic:
            watches_exits = True
    if not watches_exits:
        problems.append("no EventBridge rule sends ECS task exits other than 0 to an alarm topic")
    return problems


def policies(role):
    """The role's inline policies, including both branches of a conditional (!If) one."""
    for p in role.get("Policies", []):
        if isinstance(p, list):  # !If [condition, policy, policy or AWS::NoValue]
            yield from (x for x in p[1:] if isinstance(x, dict))
        else:
            yield p


def role_problems(template):
    role = template["Resources"]["TaskRole"]["Properties"]
    problems = []
    for policy in policies(role):
        for st in policy["PolicyDocument"]["Statement"]:
            for action in actions(st):
                if "*" in action:
                    problems.append(f"wildcard action {action}")
                if "delete" in action.lower():
                    problems.append(f"delete action {action}")
    if role.get("ManagedPolicyArns"):
        problems.append("managed policies on the task role are not allowed (they may delete)")
    return problems


def problems_of(template):
    return role_problems(template) + alarm_problems(template)


def self_test(template):
    """Each check fails on a template broken the way it guards against."""
    broken_key = copy.deepcopy(template)
    broken_key["Resources"]["AlarmTopic"]["Properties"]["KmsMasterKeyId"] = "alias/aws/sns"
    no_rule = copy.deepcopy(template)
    for name in [n for n, r in no_rule["Resources"].items() if r.get("Type") == "AWS::Events::Rule"]:
        if "ECS Task State Change" in no_rule["Resources"][name]["Properties"]["EventPattern"].get("detail-type", []):
            del no_rule["Resources"][name]
    deleting = copy.deepcopy(template)
    st = deleting["Resources"]["TaskRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0]
    st["Action"] = list(actions(st)) + ["s3:DeleteObject"]
    for what, t in [("an AWS-managed topic key", broken_key), ("no task-exit rule", no_rule), ("a delete action", deleting)]:
        if not problems_of(t):
            print(f"self-test FAILED: the check passes a template with {what}")
            return 1
    print("self-test: the checks fail on an AWS-managed topic key, a missing task-exit rule and a delete action")
    return 0


def main(args):
    path = args[-1]
    with open(path, encoding="utf-8") as f:
        template = yaml.load(f, Loader=Loader)
    if "--self-test" in args:
        return self_test(template)
    problems = problems_of(template)
    if problems:
        print("stack check FAILED: " + "; ".join(problems))
        return 1
    print("stack check: task role without wildcard actions or delete; alarm topic CloudWatch can publish to; task exits watched")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
