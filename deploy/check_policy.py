"""Checks the task role of deploy/cloudformation.yaml: no wildcard action, nothing that deletes.

Run with the Python that has cfn-lint (it brings PyYAML):
    python deploy/check_policy.py deploy/cloudformation.yaml
"""
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


def main(path):
    with open(path, encoding="utf-8") as f:
        template = yaml.load(f, Loader=Loader)
    role = template["Resources"]["TaskRole"]["Properties"]
    problems = []
    for policy in role.get("Policies", []):
        for st in policy["PolicyDocument"]["Statement"]:
            for action in actions(st):
                if "*" in action:
                    problems.append(f"wildcard action {action}")
                if "delete" in action.lower():
                    problems.append(f"delete action {action}")
    if role.get("ManagedPolicyArns"):
        problems.append("managed policies on the task role are not allowed (they may delete)")
    if problems:
        print("task role policy check FAILED: " + "; ".join(problems))
        return 1
    print("task role policy check: no wildcard actions, no delete")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
