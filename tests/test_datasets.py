"""Tests for item2vec.datasets (loaders, downloader, custom files) and item2vec.synthetic."""

from __future__ import annotations

import hashlib
import io
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import file_server

from item2vec import datasets as ds
from item2vec.synthetic import make_synthetic

INTERACTION_DTYPES = {"user": np.int64, "item": np.int64, "rating": np.float32, "timestamp": np.int64}


pytestmark = pytest.mark.usefixtures("isolated")  # offline, empty cache: see conftest.py


def _check_interactions(df: pd.DataFrame) -> None:
    assert list(df.columns) == list(INTERACTION_DTYPES)
    for col, dtype in INTERACTION_DTYPES.items():
        assert df[col].dtype == dtype, col


# ---------------------------------------------------------------- fake data sets
def write_100k(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "u.data").write_text("196\t242\t3\t881250949\n186\t302\t3\t891717742\n22\t242\t1\t878887116\n")
    genres = ["unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
              "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi",
              "Thriller", "War", "Western"]
    (folder / "u.genre").write_text("".join(f"{g}|{i}\n" for i, g in enumerate(genres)) + "\n")
    flags242 = ["0"] * 19
    flags242[5] = flags242[8] = "1"  # Comedy, Drama
    flags302 = ["0"] * 19
    flags302[16] = "1"  # Thriller
    lines = ["242|Kolya (1996)|24-Jan-1997||http://x|" + "|".join(flags242),
             '302|Café "Noir" (1997)|01-Jan-1997||http://y|' + "|".join(flags302)]
    (folder / "u.item").write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    return folder


def write_dat(folder: Path, encoding: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "ratings.dat").write_text("1::1193::5::978300760\n1::661::3.5::978302109\n2::1193::4::978298413\n")
    movies = "1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n661::Misérables, Les: Part 1 (1995)::Drama|Musical\n"
    (folder / "movies.dat").write_bytes(movies.encode(encoding))
    return folder


def write_csv(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "ratings.csv").write_text("userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,3,0.5,964981247\n"
                                        "2,1,5.0,964982224\n")
    (folder / "movies.csv").write_text('movieId,title,genres\n1,Toy Story (1995),Adventure|Animation\n'
                                       '3,"Amélie, or not (2001)",(no genres listed)\n', encoding="utf-8")
    return folder


# ---------------------------------------------------------------- loaders
def test_load_100k_format(tmp_path):
    write_100k(tmp_path / "root" / "ml-100k")
    ml = ds.load_movielens("ml-100k", data_dir=tmp_path / "root", download=False)
    _check_interactions(ml.interactions)
    assert ml.interactions["user"].tolist() == [196, 186, 22]  # file order
    assert ml.interactions["timestamp"].tolist() == [881250949, 891717742, 878887116]
    assert ml.items["item"].dtype == np.int64
    assert ml.items["title"].tolist() == ["Kolya (1996)", 'Café "Noir" (1997)']
    assert ml.items["genres"].tolist() == [["Comedy", "Drama"], ["Thriller"]]
    assert ml.name == "ml-100k" and ml.path == tmp_path / "root" / "ml-100k"
    assert ds.genre_map(ml.items) == {242: ["Comedy", "Drama"], 302: ["Thriller"]}


@pytest.mark.parametrize("name,folder,encoding", [("ml-1m", "ml-1m", "latin-1"),
                                                  ("ml-10m", "ml-10M100K", "utf-8"),
                                                  ("ml-10m", "ml-10m", "utf-8")])
def test_load_dat_format(tmp_path, name, folder, encoding):
    write_dat(tmp_path / folder, encoding)
    ml = ds.load_movielens(name, data_dir=tmp_path, download=False)
    _check_interactions(ml.interactions)
    assert ml.interactions["rating"].tolist() == [5.0, 3.5, 4.0]
    assert ml.interactions["item"].tolist() == [1193, 661, 1193]
    assert ml.items["title"].tolist()[1] == "Misérables, Les: Part 1 (1995)"
    assert ml.items["genres"].tolist() == [["Drama"], ["Drama", "Musical"]]
    assert ml.path.name == folder


@pytest.mark.parametrize("name", ["ml-latest-small", "ml-20m", "ml-25m"])
def test_load_csv_format(tmp_path, name):
    write_csv(tmp_path / name)
    ml = ds.load_movielens(name, data_dir=tmp_path, download=False)
    _check_interactions(ml.interactions)
    assert ml.interactions["rating"].tolist() == [4.0, 0.5, 5.0]
    assert ml.items["title"].tolist() == ["Toy Story (1995)", "Amélie, or not (2001)"]
    assert ml.items["genres"].tolist() == [["Adventure", "Animation"], []]


def test_format_detected_from_files_not_name(tmp_path):
    write_dat(tmp_path / "ml-latest-small", "utf-8")  # a .dat layout under a csv-era name
    ml = ds.load_movielens("ml-latest-small", data_dir=tmp_path, download=False)
    assert len(ml.interactions) == 3 and ml.items["genres"].tolist()[1] == ["Drama", "Musical"]


def test_incomplete_folder_names_missing_file_and_does_not_download(tmp_path):
    folder = write_dat(tmp_path / "ml-1m", "latin-1")
    (folder / "ratings.dat").unlink()
    with pytest.raises(ds.DatasetNotFoundError, match="ratings.dat") as info:
        ds.load_movielens("ml-1m", data_dir=tmp_path, download=True)
    assert "incomplete" in str(info.value) and "movies.dat" in str(info.value)


def test_absent_without_download(tmp_path):
    with pytest.raises(ds.DatasetNotFoundError) as info:
        ds.load_movielens("ml-100k", data_dir=tmp_path, download=False)
    assert isinstance(info.value, FileNotFoundError)
    assert "ITEM2VEC_DATA" in str(info.value) and "--dataset synthetic" in str(info.value)


def test_env_var_and_resolution_order(tmp_path, monkeypatch):
    write_100k(tmp_path / "env" / "ml-100k")
    monkeypatch.setenv("ITEM2VEC_DATA", str(tmp_path / "env"))
    assert ds.load_movielens("ml-100k", download=False).path == tmp_path / "env" / "ml-100k"
    write_100k(tmp_path / "explicit" / "ml-100k")
    assert ds.load_movielens("ml-100k", data_dir=tmp_path / "explicit").path.parent.name == "explicit"


def test_one_list_of_data_roots_for_movielens_and_the_sequence_sets(tmp_path, monkeypatch, isolated):
    from item2vec import fetch, seqdata

    assert fetch.data_roots() == [(isolated, "cache")]
    monkeypatch.setenv("ITEM2VEC_DATA", "")  # empty counts as unset
    assert fetch.data_roots(tmp_path / "d") == [(tmp_path / "d", "data_dir"), (isolated, "cache")]
    monkeypatch.setenv("ITEM2VEC_DATA", str(tmp_path / "env"))
    roots = [(tmp_path / "d", "data_dir"), (tmp_path / "env", "ITEM2VEC_DATA"), (isolated, "cache")]
    assert fetch.data_roots(str(tmp_path / "d")) == roots
    # both loaders name the same folders, in this order, when nothing is found
    with pytest.raises(ds.DatasetNotFoundError) as ml:
        ds.load_movielens("ml-100k", data_dir=tmp_path / "d", download=False)
    with pytest.raises(ds.DatasetNotFoundError) as seq:
        seqdata.load_sequence_dataset("toys", data_dir=tmp_path / "d", download=False)
    for err in (ml, seq):
        msg = str(err.value)
        assert msg.index(str(tmp_path / "d")) < msg.index(str(tmp_path / "env")) < msg.index(str(isolated))


def test_unknown_names():
    with pytest.raises(ValueError, match="ml-100k.*ml-latest-small"):
        ds.load_movielens("ml-5k")
    with pytest.raises(ValueError, match="synthetic"):
        ds.load_dataset("netflix")


def test_default_data_dir(tmp_path, monkeypatch):
    monkeypatch.undo()  # the real function
    repo = Path(ds.__file__).resolve().parent.parent
    if (repo / "pyproject.toml").is_file() and (repo / "datasets").is_dir():
        assert ds.default_data_dir() == repo / "datasets"
    from item2vec import fetch

    monkeypatch.setattr(fetch, "__file__", str(tmp_path / "site" / "item2vec" / "fetch.py"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert ds.default_data_dir() == tmp_path / "xdg" / "item2vec"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert ds.default_data_dir() == Path.home() / ".cache" / "item2vec"


# ---------------------------------------------------------------- real data
@pytest.mark.movielens
@pytest.mark.parametrize("name,rows,users,items,movies", [("ml-100k", 100_000, 943, 1682, 1682),
                                                           ("ml-latest-small", 100_836, 610, 9724, 9742)])
def test_real_movielens(movielens_root, monkeypatch, name, rows, users, items, movies):
    if not (movielens_root / name).is_dir():
        pytest.skip(f"{movielens_root / name} not present")
    monkeypatch.setenv("ITEM2VEC_DATA", str(movielens_root))
    ml = ds.load_movielens(name, download=False)
    _check_interactions(ml.interactions)
    inter = ml.interactions
    assert (len(inter), inter["user"].nunique(), inter["item"].nunique(), len(ml.items)) == (rows, users, items, movies)
    assert inter["timestamp"].between(8e8, 1.6e9).all()
    assert ml.items["title"].str.len().gt(0).all() and ml.items["item"].is_unique
    assert set(inter["item"]) <= set(ml.items["item"])
    assert ml.items["genres"].map(len).gt(0).mean() > 0.99


@pytest.mark.movielens
def test_real_ml1m_without_ratings_is_a_clear_error(movielens_root, monkeypatch):
    folder = movielens_root / "ml-1m"
    if not folder.is_dir() or (folder / "ratings.dat").exists():
        pytest.skip("needs the shared ml-1m copy that lacks ratings.dat")
    monkeypatch.setenv("ITEM2VEC_DATA", str(movielens_root))
    with pytest.raises(ds.DatasetNotFoundError, match="missing ratings.dat"):
        ds.load_movielens("ml-1m")
    with pytest.raises(FileNotFoundError, match="ratings.dat"):
        ds.load_movielens("ml-1m", data_dir=movielens_root)


# ---------------------------------------------------------------- downloads
def _zip_of(folder: Path, top: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for f in sorted(folder.iterdir()):
            zf.write(f, f"{top}/{f.name}")
    return buf.getvalue()


@pytest.fixture
def server(monkeypatch):
    """A local HTTP server: ``files`` maps URL paths to bytes; ``hits`` counts GETs."""
    with file_server() as (files, hits, base):
        monkeypatch.setenv("ITEM2VEC_MOVIELENS_URL", f"{base}/ml/")
        yield files, hits


def test_download_extract_load_then_cached(tmp_path, server, isolated, monkeypatch):
    files, hits = server
    body = _zip_of(write_100k(tmp_path / "src" / "ml-100k"), "ml-100k")
    files["/ml/ml-100k.zip"] = body
    monkeypatch.setitem(ds.CHECKSUMS, "ml-100k", (hashlib.sha256(body).hexdigest(), len(body)))
    ml = ds.load_movielens("ml-100k", progress=False)
    assert len(ml.interactions) == 3 and ml.path == isolated / "ml-100k"
    assert [p.name for p in isolated.iterdir()] == ["ml-100k"]  # no zip, no temp files
    assert hits == ["/ml/ml-100k.zip"]
    again = ds.load_movielens("ml-100k", progress=False)
    assert len(hits) == 1 and again.interactions.equals(ml.interactions)
    assert ds.fetch_movielens("ml-100k", progress=False) == ml.path and len(hits) == 1


def test_download_into_data_dir_keeps_zip_folder_name(tmp_path, server, monkeypatch):
    files, hits = server
    body = _zip_of(write_dat(tmp_path / "src" / "x", "utf-8"), "ml-10M100K")
    files["/ml/ml-10m.zip"] = body
    monkeypatch.setitem(ds.CHECKSUMS, "ml-10m", (hashlib.sha256(body).hexdigest(), None))
    (tmp_path / "data").mkdir()  # an existing data_dir is downloaded into; a missing one is an error
    ml = ds.load_movielens("ml-10m", data_dir=tmp_path / "data", progress=False)
    assert ml.path == tmp_path / "data" / "ml-10M100K" and len(ml.interactions) == 3


def test_checksum_mismatch_leaves_nothing(tmp_path, server, isolated, monkeypatch):
    files, _ = server
    body = _zip_of(write_100k(tmp_path / "src" / "ml-100k"), "ml-100k")
    files["/ml/ml-100k.zip"] = body[:-10] + b"corrupted!"
    good = hashlib.sha256(body).hexdigest()
    monkeypatch.setitem(ds.CHECKSUMS, "ml-100k", (good, len(body)))
    with pytest.raises(ds.ChecksumError) as info:
        ds.fetch_movielens("ml-100k", progress=False)
    msg = str(info.value)
    assert good in msg and hashlib.sha256(files["/ml/ml-100k.zip"]).hexdigest() in msg and "/ml/ml-100k.zip" in msg
    assert isinstance(info.value, ValueError)
    assert list(isolated.iterdir()) == []


def test_unknown_checksum_warns_but_works(tmp_path, server, isolated, monkeypatch):
    files, _ = server
    files["/ml/ml-latest-small.zip"] = _zip_of(write_csv(tmp_path / "src" / "m"), "ml-latest-small")
    monkeypatch.setitem(ds.CHECKSUMS, "ml-latest-small", (None, None))
    with pytest.warns(UserWarning, match="without verification"):
        path = ds.fetch_movielens("ml-latest-small", progress=False)
    assert path == isolated / "ml-latest-small" and (path / "ratings.csv").is_file()


def test_zip_without_expected_files_is_rejected(tmp_path, server, isolated, monkeypatch):
    files, _ = server
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "README").write_text("nothing here")
    body = _zip_of(tmp_path / "src", "ml-100k")
    files["/ml/ml-100k.zip"] = body
    monkeypatch.setitem(ds.CHECKSUMS, "ml-100k", (hashlib.sha256(body).hexdigest(), len(body)))
    with pytest.raises(ds.DatasetNotFoundError, match="u.data"):
        ds.fetch_movielens("ml-100k", progress=False)
    assert list(isolated.iterdir()) == []


@pytest.mark.parametrize("where", ["closed port", "404"])
def test_unreachable_server_gives_actionable_error(where, isolated, request):
    if where == "404":
        request.getfixturevalue("server")  # serves nothing: every path is a 404
    with pytest.raises(ds.DatasetNotFoundError) as info:
        ds.load_movielens("ml-100k", progress=False)
    msg = str(info.value)
    assert "ITEM2VEC_DATA" in msg and "--dataset synthetic" in msg and "data_dir" in msg
    assert not isolated.exists() or list(isolated.iterdir()) == []


def test_mistyped_data_dir_is_named_and_never_created(tmp_path, server, isolated, monkeypatch):
    files, hits = server
    body = _zip_of(write_100k(tmp_path / "src" / "ml-100k"), "ml-100k")
    files["/ml/ml-100k.zip"] = body
    monkeypatch.setitem(ds.CHECKSUMS, "ml-100k", (hashlib.sha256(body).hexdigest(), len(body)))
    typo = tmp_path / "typo" / "deeper"
    with pytest.raises(ds.DatasetNotFoundError) as info:
        ds.load_movielens("ml-100k", data_dir=typo, progress=False)
    assert f"{typo} (data_dir; does not exist)" in str(info.value) and "nothing was downloaded" in str(info.value)
    assert not (tmp_path / "typo").exists() and hits == []
    with pytest.raises(ds.DatasetNotFoundError, match="does not exist"):
        ds.fetch_movielens("ml-100k", typo, progress=False)
    assert not (tmp_path / "typo").exists() and hits == [] and not isolated.exists()
    assert ds.load_movielens("ml-100k", progress=False).path == isolated / "ml-100k"  # the cache is created


def test_mistyped_env_var_is_named(tmp_path, isolated, monkeypatch):
    typo = tmp_path / "tpyo"
    monkeypatch.setenv("ITEM2VEC_DATA", str(typo))
    for download in (True, False):
        with pytest.raises(ds.DatasetNotFoundError) as info:
            ds.load_movielens("ml-100k", download=download, progress=False)
        assert f"{typo} (ITEM2VEC_DATA; does not exist)" in str(info.value)
        assert f"{isolated} (cache" in str(info.value)
    assert not typo.exists()


# ---------------------------------------------------------------- synthetic
def _transitions(data):
    df = data.interactions
    user, item = df["user"].to_numpy(), df["item"].to_numpy()
    same_user = user[1:] == user[:-1]
    return item[:-1][same_user], item[1:][same_user]


def test_synthetic_shapes_dtypes_and_determinism():
    a = make_synthetic(n_users=200, n_items=100, n_clusters=5, events_per_user=(5, 15), seed=3)
    b = make_synthetic(n_users=200, n_items=100, n_clusters=5, events_per_user=(5, 15), seed=3)
    c = make_synthetic(n_users=200, n_items=100, n_clusters=5, events_per_user=(5, 15), seed=4)
    pd.testing.assert_frame_equal(a.interactions, b.interactions)
    assert not a.interactions.equals(c.interactions)
    _check_interactions(a.interactions)
    sizes = a.interactions.groupby("user").size()
    assert len(sizes) == 200 and sizes.between(5, 15).all()
    assert a.interactions["item"].between(0, 99).all() and (a.interactions["rating"] == 1).all()
    assert list(a.items.columns) == ["item", "title", "genres", "cluster", "group"]
    assert a.items["title"].iloc[17] == "item 17"
    assert a.items["genres"].iloc[17] == [f"cluster {a.cluster[17]}"]
    assert np.bincount(a.cluster).tolist() == [20] * 5
    assert (a.cluster[a.successor] == a.cluster).all()
    assert sorted(a.successor) == list(range(100))  # a permutation: rings inside clusters


def test_synthetic_planted_structure():
    data = make_synthetic(n_users=2000, n_items=400, n_clusters=8, events_per_user=30,
                          p_next=0.7, p_switch=0.1, seed=1)
    prev, nxt = _transitions(data)
    same_cluster = data.cluster[prev] == data.cluster[nxt]
    assert abs((1 - same_cluster.mean()) - 0.1) < 0.01
    assert (data.successor[prev][same_cluster] == nxt[same_cluster]).mean() >= 0.7 - 0.01
    mean_len = data.interactions.groupby("user").size().mean()
    assert 25 < mean_len < 35
    # popularity is skewed inside clusters (Zipf)
    counts = data.interactions["item"].value_counts()
    assert counts.max() > 3 * counts.median()
    # sessions: timestamps increase per user; ~1/session_length of gaps are long (> 1 h)
    ts, user = data.interactions["timestamp"].to_numpy(), data.interactions["user"].to_numpy()
    gaps = np.diff(ts)[user[1:] == user[:-1]]
    assert (gaps > 0).all() and abs((gaps > 3600).mean() - 0.1) < 0.02


def test_synthetic_confusable_groups_never_co_consumed():
    data = make_synthetic(n_users=500, n_items=120, n_clusters=6, confusable=2, seed=2)
    items = data.items
    assert (items["group"] == items["cluster"] // 2).all() and items["group"].nunique() == 3
    visited = data.interactions.assign(c=data.cluster[data.interactions["item"].to_numpy()])
    per_user = visited.groupby("user")["c"].apply(lambda s: set(s % 2))
    assert per_user.map(len).eq(1).all()  # one member of each look-alike pair per user
    assert visited["c"].nunique() == 6


def test_synthetic_validation_and_scale():
    with pytest.raises(ValueError, match="p_next"):
        make_synthetic(p_next=1.5)
    with pytest.raises(ValueError, match="confusable=3 must divide n_clusters=10"):
        make_synthetic(confusable=3)
    with pytest.raises(ValueError, match="n_clusters"):
        make_synthetic(n_items=5, n_clusters=10)
    with pytest.raises(ValueError, match="events_per_user"):
        make_synthetic(events_per_user=(10, 5))
    big = make_synthetic(n_users=25_000, n_items=5000, n_clusters=50, events_per_user=40, seed=0)
    assert len(big.interactions) > 900_000


def test_load_dataset_dispatch(tmp_path):
    syn = ds.load_dataset("synthetic", n_users=10, n_items=20, n_clusters=2)
    assert syn.interactions["user"].nunique() == 10 and len(syn.items) == 20
    write_csv(tmp_path / "ml-latest-small")
    ml = ds.load_dataset("ml-latest-small", data_dir=tmp_path, download=False)
    assert isinstance(ml, ds.MovieLens) and len(ml.interactions) == 3


# ---------------------------------------------------------------- custom files
def test_load_interactions_csv_and_tsv(tmp_path):
    (tmp_path / "log.csv").write_text("uid,sku,when,stars\nu1,a,100,4\nu2,b,50,3\n")
    df = ds.load_interactions(tmp_path / "log.csv", user_col="uid", item_col="sku", time_col="when",
                              rating_col="stars")
    assert list(df.columns) == ["user", "item", "timestamp", "rating"]
    assert df["user"].tolist() == ["u1", "u2"] and df["timestamp"].dtype == np.int64
    assert df["rating"].dtype == np.float32
    (tmp_path / "log.tsv").write_text("user\titem\ttimestamp\n1\t7\t2024-01-01T00:00:10Z\n")
    df = ds.load_interactions(tmp_path / "log.tsv")
    assert df["item"].dtype == np.int64 and df["timestamp"].tolist() == [1704067210]
    (tmp_path / "plain.csv").write_text("user,item\n1,2\n")  # the default time column is optional
    assert list(ds.load_interactions(tmp_path / "plain.csv").columns) == ["user", "item"]


def test_load_interactions_dates_without_warnings(tmp_path, recwarn):
    (tmp_path / "iso.csv").write_text("user,item,timestamp\n1,7,2020-01-03 10:00\n1,8,2020-01-04 11:00:05\n"
                                      "1,9,2020-01-05T00:00:00+01:00\n")
    df = ds.load_interactions(tmp_path / "iso.csv")  # rows in different ISO forms: every row parsed
    assert df["timestamp"].tolist() == [1578045600, 1578135605, 1578178800]
    (tmp_path / "us.csv").write_text("user,item,timestamp\n1,7,1/2/2020 10:00 PM\n1,8,1/3/2020 9:00 AM\n")
    df = ds.load_interactions(tmp_path / "us.csv")  # pandas warned "Could not infer format" here
    assert df["timestamp"].tolist() == [1578002400, 1578042000]
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)], [str(w.message) for w in recwarn]


def test_load_interactions_errors(tmp_path, monkeypatch):
    (tmp_path / "log.csv").write_text("uid,sku\n1,2\n")
    with pytest.raises(ValueError, match=r"'user'.*columns are: 'uid', 'sku'"):
        ds.load_interactions(tmp_path / "log.csv")
    with pytest.raises(ValueError, match="'when'"):
        ds.load_interactions(tmp_path / "log.csv", user_col="uid", item_col="sku", time_col="when")
    (tmp_path / "log.json").write_text("{}")
    with pytest.raises(ValueError, match=r"\.csv, \.tsv or \.parquet"):
        ds.load_interactions(tmp_path / "log.json")
    (tmp_path / "log.parquet").write_bytes(b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(ImportError, match="pip install pyarrow"):
        ds.load_interactions(tmp_path / "log.parquet")
    with pytest.raises(FileNotFoundError):
        ds.load_interactions(tmp_path / "nope.csv")
