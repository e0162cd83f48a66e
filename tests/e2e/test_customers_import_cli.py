"""`caredesk customers import FILE.csv` as an operator runs it: a real subprocess on SQLite and PostgreSQL. A good
file creates customers (personal data encrypted, lookup hashes set) and their crm_import record; a known ref is
updated; a file with bad rows exits 2 listing each (line, column, reason) and imports nothing; a GBK export from a
Chinese CRM is read. `caredesk customers sources validate` checks the sources file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from caredesk.bootstrap import build_runtime
from caredesk.bootstrap.runtime import Runtime
from caredesk.settings import Settings
from caredesk.storage.migrate import upgrade
from caredesk.storage.orm import AuditEntry, Branch, Customer, CustomerSourceRecord
from tests.conftest import postgres_schema
from tests.support.cli import caredesk, cli_env

SECRET = "cli-test-secret-" + "c" * 32
HEADER = "customer_ref,name,phone,email,tier,branch,segment,customer_since,products,annual_spend\n"


@dataclass
class Cli:
    env: dict[str, str]
    rt: Runtime  # the same database and keys, to read what the command wrote

    def customers(self) -> dict[str, Customer]:
        with self.rt.session_factory() as s:
            return {c.ref: c for c in s.scalars(select(Customer))}

    def crm(self, ref: str) -> CustomerSourceRecord | None:
        with self.rt.session_factory() as s:
            return s.scalar(select(CustomerSourceRecord).join(Customer, Customer.id == CustomerSourceRecord.customer_id)
                            .where(Customer.ref == ref, CustomerSourceRecord.source == "crm_import"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def cli(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cli]:
    def start(url: str) -> Cli:
        env = cli_env(database_url=url, var_dir=str(tmp_path / "var"), environment="test", secret_key=SECRET)
        rt = build_runtime(Settings(database_url=url, var_dir=tmp_path / "var", environment="test",
                                    secret_key=SECRET, tasks_mode="immediate"), make_current=False)
        with rt.uow() as uow:
            uow.session.add_all([Branch(code="sh_pudong", name_zh="上海浦东支行", name_en="Pudong"),
                                 Branch(code="bj_haidian", name_zh="北京海淀支行", name_en="Haidian")])
            uow.commit()
        return Cli(env, rt)

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'customers.db'}"
        engine = create_engine(url)
        upgrade(engine)
        engine.dispose()
        cli = start(url)
        yield cli
        cli.rt.engine.dispose()
    else:
        with postgres_schema("customers_cli") as url:
            cli = start(url)
            yield cli
            cli.rt.engine.dispose()


def test_customers_import_creates_then_updates_a_known_ref(cli: Cli, tmp_path: Path) -> None:
    good = tmp_path / "crm.csv"
    good.write_text("\ufeff" + HEADER +
                    "CRM-1,王芳,138-1234-5678,wang.fang@example.cn,gold,sh_pudong,wealth,2015-03-01,"
                    "mortgage|credit_card,\"1,520.50\"\n"
                    "CRM-2,Tom Walker,+44 20 7946 0958,,,,,,,\n", encoding="utf-8")
    result = caredesk(cli.env, "customers", "import", str(good))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{good}: 2 created, 0 updated, 0 unchanged; 2 with CRM fields (utf-8)"
    customers = cli.customers()
    wang, tom = customers["CRM-1"], customers["CRM-2"]
    assert (wang.name, wang.phone, wang.email, wang.tier) == ("王芳", "13812345678", "wang.fang@example.cn", "gold")
    assert wang.phone_hash and wang.email_hash and wang.branch_id is not None
    assert (tom.tier, tom.email, tom.branch_id, tom.phone) == ("standard", None, None, "+442079460958")
    with cli.rt.engine.connect() as conn:  # encrypted at rest: the stored column is not the number
        stored = conn.execute(text("select phone from customer where ref = 'CRM-1'")).scalar_one()
    assert "13812345678" not in stored
    record = cli.crm("CRM-1")
    assert record is not None and record.status == "ok"
    assert record.fields == {"crm_segment": "wealth", "customer_since": "2015-03-01",
                             "products": ["mortgage", "credit_card"], "annual_spend": 1520.5}
    empty = cli.crm("CRM-2")
    assert empty is not None and set(empty.fields.values()) == {None}

    # the same ref again: the changed cells are updated, an empty cell leaves the stored value
    update = tmp_path / "update.csv"
    update.write_text(HEADER + "CRM-1,,,fang.wang@example.cn,private,bj_haidian,private_banking,,,\n"
                               "CRM-2,Tom Walker,,,,,,,,\n", encoding="utf-8")
    result = caredesk(cli.env, "customers", "import", str(update))
    assert result.returncode == 0, result.stderr
    assert "0 created, 1 updated, 1 unchanged" in result.stdout
    wang = cli.customers()["CRM-1"]
    assert (wang.name, wang.phone, wang.email, wang.tier) == ("王芳", "13812345678", "fang.wang@example.cn",
                                                             "private")
    record = cli.crm("CRM-1")
    assert record is not None and record.fields["crm_segment"] == "private_banking"
    assert record.fields["products"] is None  # the CRM's columns are what it says now
    with cli.rt.session_factory() as s:
        audits = list(s.scalars(select(AuditEntry).where(AuditEntry.action == "customers.imported")
                                .order_by(AuditEntry.id)))
    assert [(a.data["created"], a.data["updated"]) for a in audits] == [(2, 0), (0, 1)]
    assert audits[1].data["fields_changed"] == ["branch", "email", "tier"]
    logged = json.dumps([a.data for a in audits], ensure_ascii=False)
    assert "王芳" not in logged and "example.cn" not in logged and "13812345678" not in logged


def test_customers_import_bad_rows_exit_2_and_nothing_imported(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER +
                   "CRM-1,王芳,13812345678,,gold,sh_pudong,,,,\n"
                   "CRM-2,李雷,12ab,not-an-email,diamond,,,2015-13-01,,lots\n"
                   "CRM-1,王芳,,,,,,,,\n"
                   "CRM-3,韩梅梅,,,,no_such_branch,,,,\n", encoding="utf-8")
    result = caredesk(cli.env, "customers", "import", str(bad))
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == f"error: {bad}: 2 bad row(s); nothing imported"
    assert [line.split(":")[0].strip() for line in lines[1:]] == [
        "line 3, column phone", "line 3, column email", "line 3, column tier", "line 3, column customer_since",
        "line 3, column annual_spend", "line 4, column customer_ref"]
    assert "the same customer as line 2" in lines[-1]
    assert "12ab" not in result.stderr and "not-an-email" not in result.stderr  # reasons, never values
    assert cli.customers() == {}

    # the rows fixed, an unknown branch is found against the database: still nothing imported
    bad.write_text(HEADER + "CRM-1,王芳,13812345678,,gold,sh_pudong,,,,\nCRM-3,韩梅梅,,,,no_such_branch,,,,\n",
                   encoding="utf-8")
    result = caredesk(cli.env, "customers", "import", str(bad))
    assert result.returncode == 2
    assert result.stderr.splitlines()[1:] == ["  line 3, column branch: no branch with this code"]
    assert cli.customers() == {}

    unknown = tmp_path / "unknown.csv"
    unknown.write_text("customer_ref,name,phone,email,tier,branch,id_number\nCRM-9,,,,,,110101199003071234\n",
                       encoding="utf-8")
    result = caredesk(cli.env, "customers", "import", str(unknown))
    assert result.returncode == 2 and "line 1, column id_number: unknown column" in result.stderr


def test_customers_import_reads_a_gbk_export(cli: Cli, tmp_path: Path) -> None:
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes((HEADER + "CRM-8,张伟,13900001111,,private,bj_haidian,高净值客户,2019/05/06,房贷|理财,\n")
                    .encode("gbk"))
    result = caredesk(cli.env, "customers", "import", str(gbk))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("1 created, 0 updated, 0 unchanged; 1 with CRM fields (gb18030)")
    assert cli.customers()["CRM-8"].name == "张伟"
    record = cli.crm("CRM-8")
    assert record is not None and record.fields["crm_segment"] == "高净值客户"
    assert record.fields["customer_since"] == "2019-05-06" and record.fields["products"] == ["房贷", "理财"]
    # named explicitly: the same; a UTF-8 reading of it says which line cannot be decoded
    assert caredesk(cli.env, "customers", "import", "--encoding", "gbk", str(gbk)).returncode == 0
    wrong = caredesk(cli.env, "customers", "import", "--encoding", "utf-8", str(gbk))
    assert wrong.returncode == 2 and "not utf-8 text (line 2)" in wrong.stderr
    with cli.rt.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Customer)) == 1


def test_customers_sources_validate(tmp_path: Path) -> None:
    env = cli_env()
    shipped = caredesk(env, "customers", "sources", "validate")
    assert shipped.returncode == 0, shipped.stderr
    assert shipped.stdout.startswith("built-in customers/sources.yaml: 0 of 3 sources enabled; CRM import columns: "
                                     "segment, customer_since, products, annual_spend")
    bad = tmp_path / "sources.yaml"
    bad.write_text("sources:\n  - name: crm\n    url: https://crm.example/c/{customer_name}\n"
                   "    fields: {segment: {path: a.b}}\n", encoding="utf-8")
    result = caredesk(env, "customers", "sources", "validate", str(bad))
    assert result.returncode == 2
    assert f"{bad}:2: sources[0]: unknown placeholder(s) ['customer_name']" in result.stderr
    good = tmp_path / "good.yaml"
    good.write_text("sources:\n  - name: crm\n    url: https://crm.example/c/{customer_ref}\n"
                    "    auth: {kind: bearer, token_env: CRM_TOKEN_FOR_TEST}\n"
                    "    fields: {segment: {path: a.b}}\n", encoding="utf-8")
    result = caredesk(env, "customers", "sources", "validate", str(good))
    assert result.returncode == 0, result.stderr
    assert "crm (enabled, bearer auth, timeout 2 s, cache 3600 s): segment:str" in result.stdout
    assert "warning: crm: environment variable CRM_TOKEN_FOR_TEST is not set here" in result.stderr
    # the file the settings name is the one in use: checked by `config validate` too, beside the shipped one
    checked = caredesk({**env, "CAREDESK_CUSTOMER_SOURCES_FILE": str(bad)}, "config", "validate")
    assert checked.returncode == 2 and "ok  customers/sources.yaml" in checked.stdout.splitlines()
    assert f"{bad}:2: sources[0]: unknown placeholder(s) ['customer_name']; only {{customer_ref}} and {{customer_id}}" \
        in checked.stdout.splitlines()
