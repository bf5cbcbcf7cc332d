cd /work/wt-fix
W=bench/.work-ingest
for round in 0 1 2 3; do
  if [ $((round % 2)) = 0 ]; then order="this base"; else order="base this"; fi
  for side in $order; do
    if [ $side = this ]; then dist=/work/wt-fix/dist; else dist=/tmp/fixbase/dist; fi
    dir=$W/worst-$side; rm -rf $dir; mkdir -p $dir
    node -e "import('/work/wt-fix/bench/bench-project.js').then(m => require('fs').writeFileSync('$dir/sluice.config.ts', m.BENCH_CONFIG))"
    load=$(cut -d' ' -f1 /proc/loadavg)
    out=$(nice -n 10 taskset -c 1 node bench/ingest-ab.js --child $dist $dir $W/no-merchant.jsonl | head -c 200)
    echo "round=$round side=$side load=$load $out"
  done
done
